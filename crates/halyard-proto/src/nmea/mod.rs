//! NMEA 0183 (marine.md §2): the sentences a boat's GPS, wind, depth and heading instruments
//! send, parsed without allocation.
//!
//! - [`LineFramer`] cuts a byte stream (serial, TCP, UDP, a log file) into lines, tolerant of
//!   CR LF or LF alone, NUL runs inside sentences (they pass the checksum: NUL XORs to 0,
//!   marine.md §2.1) and lines longer than the standard's 82 bytes.
//! - [`parse`] checks a line's checksum and decodes the sentences Halyard uses into
//!   [`Sentence`]: positions and fixes (RMC, GGA, GLL, GSA, VTG, ZDA), wind (MWV, VWR, VWT,
//!   MWD, MDA), heading (HDG, HDM, HDT), water (DBT, DPT, VHW, MTW), transducers (XDR) and AIS
//!   (`!AIVDM`/`!AIVDO`, with position reports decoded, [`ais`]).
//!
//! Units are normalised so the rest of Halyard never converts: speeds in knots, angles in
//! degrees, depths in metres, temperatures in °C, pressure in bar. An empty field is `None`:
//! nothing is invented, in particular no date where the sentence has none (plaka.log's ZDA).

pub mod ais;
mod fields;
mod frame;
mod sentences;

pub use fields::{Date, Position, TimeOfDay};
pub use frame::{checksum, Checksum, Error, Frame, LineFramer, MAX_LINE};
pub use sentences::{
    Dbt, Dpt, Gga, Gll, Gsa, Hdg, Mda, Measurement, Mwd, Mwv, RelativeWind, Rmc, Sentence, Vdm, Vhw, Vtg,
    WindReference, Xdr, Zda,
};

/// A parsed line: its frame (talker, type, checksum status) and what it says.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Parsed<'a> {
    /// Talker, type, checksum.
    pub frame: Frame<'a>,
    /// The decoded sentence.
    pub sentence: Sentence<'a>,
}

/// Parse one line (without its line ending; NULs already dropped, as [`LineFramer`] does).
pub fn parse(line: &[u8]) -> Result<Parsed<'_>, Error> {
    let frame = Frame::parse(line)?;
    let sentence = sentences::decode(&frame)?;
    Ok(Parsed { frame, sentence })
}
