//! History (DESIGN.md §5): the recorder sink writes every published value into the store as raw
//! samples and 1-minute, 1-hour and local-day rollups, in batches.

pub mod recorder;
pub mod rollup;
pub mod sqlite;

pub use recorder::Recorder;
pub use rollup::{Aggregate, Calendar, Resolution, Roller};
pub use sqlite::Store;
