//! VE.Direct: Victron's serial protocol (19,200 8N1), text mode and HEX mode.
//!
//! * [`text`] — the framer for the one-second text blocks, HEX lines interleaved.
//! * [`labels`] — what each text label means, with units.
//! * [`hex`] — the `:`-framed HEX register protocol, decode and encode.
//! * [`registers`] — the register dictionary shared with VE.Smart networking.
//! * [`history`] — the daily and total history records 0x1050… and 0x104F.
//!
//! Facts: `shared/protocols/victron.md` §4 and Victron's VE.Direct protocol document 3.34.

pub mod hex;
pub mod history;
pub mod labels;
pub mod registers;
pub mod text;
