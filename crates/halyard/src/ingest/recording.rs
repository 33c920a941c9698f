//! Halyard's own recording format: one line per thing a source received, so that a whole boat
//! (BLE adverts, several serial ports, CAN, MQTT) replays through the pipeline as it happened.
//!
//! ```text
//! # halyard recording 1
//! 1732406400.125 ble C0:3B:12:34:56:78 100242a0016207adceb37b605d7e0ee21b24df5c
//! 1732406400.500 vedirect ttyUSB0 0d0a5609313338383009...
//! 1732406400.700 can can0 18FF1297#0100A1B24C41
//! 1732406401.000 mqtt venetworking/HQyywwMAEI4/EDBC 2338
//! 1732406401.000 nmea nmea0 $WIMWV,045.0,R,12.3,N,A*1C
//! 1732406401.000 mesh radio0 94c3000c1a0a0d01...
//! 1732406401.000 n2k can0 2,129025,2,255,a7c1cb19d0a51f03
//! ```
//! Times are seconds since the Unix epoch. BLE data is the manufacturer data after the
//! company id; VE.Direct data is the bytes as read, in hex; CAN frames use candump's
//! `ID#DATA` notation; MQTT lines carry topic and payload text; NMEA lines the sentence as
//! received (without its line ending); Meshtastic lines the stream API's bytes in hex; NMEA 2000
//! lines a whole message as priority, PGN, source, destination and its data in hex.

use halyard_proto::can::{candump, Received};

use crate::model::Millis;

/// The first line of a recording.
pub const HEADER: &str = "# halyard recording 1";

/// One recorded line.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// A BLE advert.
    Ble {
        /// Seconds since the epoch, in ms.
        at: Millis,
        /// Address.
        mac: [u8; 6],
        /// Manufacturer data.
        data: Vec<u8>,
    },
    /// Serial bytes.
    VeDirect {
        /// When.
        at: Millis,
        /// Port name.
        port: String,
        /// Bytes.
        bytes: Vec<u8>,
    },
    /// A CAN frame.
    Can {
        /// When, in ns.
        ts_ns: u64,
        /// Source name.
        source: String,
        /// The frame.
        received: Received,
    },
    /// An NMEA 0183 sentence.
    Nmea {
        /// When.
        at: Millis,
        /// Source name.
        source: String,
        /// The sentence, without its line ending.
        line: String,
    },
    /// Meshtastic stream API bytes (framed `FromRadio` messages).
    Mesh {
        /// When.
        at: Millis,
        /// Source name.
        source: String,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// An MQTT message.
    Mqtt {
        /// When.
        at: Millis,
        /// Topic.
        topic: String,
        /// Payload.
        payload: String,
    },
    /// A whole NMEA 2000 message.
    N2k {
        /// When.
        at: Millis,
        /// The bus.
        source: String,
        /// Priority, PGN, source and destination.
        header: halyard_proto::n2k::Header,
        /// The message.
        data: Vec<u8>,
    },
}

impl Record {
    /// When it was received, in ms.
    pub fn at(&self) -> Millis {
        match self {
            Record::Ble { at, .. }
            | Record::VeDirect { at, .. }
            | Record::Mqtt { at, .. }
            | Record::Nmea { at, .. }
            | Record::N2k { at, .. }
            | Record::Mesh { at, .. } => *at,
            Record::Can { ts_ns, .. } => (*ts_ns / 1_000_000) as Millis,
        }
    }
}

/// Whether bytes are a recording.
pub fn is_recording(bytes: &[u8]) -> bool {
    bytes.starts_with(HEADER.as_bytes())
}

fn hex_bytes(text: &str) -> Option<Vec<u8>> {
    let mut out = vec![0u8; text.len() / 2];
    let n = halyard_proto::hex::decode_into(text.as_bytes(), &mut out).ok()?;
    (n * 2 == text.len()).then(|| {
        out.truncate(n);
        out
    })
}

/// Parse one line; `Ok(None)` for comments and blank lines.
pub fn parse_line(line: &str) -> Result<Option<Record>, String> {
    let line = line.trim_end_matches(['\r', '\n']);
    if line.trim().is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let mut parts = line.splitn(4, ' ');
    let (Some(ts), Some(kind), Some(source), Some(data)) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("expected `TIME KIND SOURCE DATA`".into());
    };
    let seconds: f64 = ts.parse().map_err(|_| format!("`{ts}` is not a time in seconds"))?;
    if !seconds.is_finite() || seconds < 0.0 {
        return Err(format!("`{ts}` is not a time in seconds"));
    }
    let at = (seconds * 1000.0).round() as Millis;
    match kind {
        "ble" => {
            let mac =
                crate::model::Identity::parse_mac(source).ok_or_else(|| format!("`{source}` is not an address"))?;
            let data = hex_bytes(data).ok_or("BLE data is not hex")?;
            Ok(Some(Record::Ble { at, mac, data }))
        }
        "vedirect" => {
            let bytes = hex_bytes(data).ok_or("VE.Direct bytes are not hex")?;
            Ok(Some(Record::VeDirect { at, port: source.to_owned(), bytes }))
        }
        "can" => {
            let candump_line = format!("({ts}) {source} {data}");
            let frame = candump::parse_line(&candump_line)
                .map_err(|e| format!("CAN frame: {e}"))?
                .ok_or("CAN frame missing")?;
            Ok(Some(Record::Can { ts_ns: frame.timestamp_ns, source: source.to_owned(), received: frame.received }))
        }
        "mqtt" => Ok(Some(Record::Mqtt { at, topic: source.to_owned(), payload: data.to_owned() })),
        "nmea" => Ok(Some(Record::Nmea { at, source: source.to_owned(), line: data.to_owned() })),
        "mesh" => {
            let bytes = hex_bytes(data).ok_or("Meshtastic bytes are not hex")?;
            Ok(Some(Record::Mesh { at, source: source.to_owned(), bytes }))
        }
        "n2k" => {
            let bad = || format!("`{data}`: NMEA 2000 is PRIORITY,PGN,SOURCE,DESTINATION,HEX");
            let fields: Vec<&str> = data.split(',').collect();
            let [priority, pgn, src, dst, hex] = fields[..] else { return Err(bad()) };
            let (Ok(priority), Ok(pgn), Ok(src), Ok(dst)) =
                (priority.parse::<u8>(), pgn.parse::<u32>(), src.parse::<u8>(), dst.parse::<u8>())
            else {
                return Err(bad());
            };
            let data = hex_bytes(hex).filter(|d| d.len() <= 223).ok_or_else(bad)?;
            if priority > 7 || pgn > 0x3_FFFF {
                return Err(bad());
            }
            let header = halyard_proto::n2k::Header { priority, pgn, source: src, destination: dst };
            Ok(Some(Record::N2k { at, source: source.to_owned(), header, data }))
        }
        other => Err(format!("unknown record kind `{other}`")),
    }
}

/// Format a record as a line (the simulator's writer).
pub fn format(record: &Record) -> String {
    let secs = |ms: Millis| format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000));
    match record {
        Record::Ble { at, mac, data } => {
            format!("{} ble {} {}", secs(*at), crate::model::Identity::Mac(*mac), crate::json::hex(data))
        }
        Record::VeDirect { at, port, bytes } => format!("{} vedirect {port} {}", secs(*at), crate::json::hex(bytes)),
        Record::Can { ts_ns, source, received } => {
            let mut buf = [0u8; 128];
            let n = candump::format_line(*ts_ns, source, received, &mut buf).unwrap_or(0);
            let line = String::from_utf8_lossy(&buf[..n]);
            let frame = line.trim_end().rsplit(' ').next().unwrap_or_default().to_owned();
            format!("{}.{:06} can {source} {frame}", ts_ns / 1_000_000_000, (ts_ns % 1_000_000_000) / 1000)
        }
        Record::Mqtt { at, topic, payload } => format!("{} mqtt {topic} {payload}", secs(*at)),
        Record::Nmea { at, source, line } => format!("{} nmea {source} {line}", secs(*at)),
        Record::Mesh { at, source, bytes } => format!("{} mesh {source} {}", secs(*at), crate::json::hex(bytes)),
        Record::N2k { at, source, header, data } => format!(
            "{} n2k {source} {},{},{},{},{}",
            secs(*at),
            header.priority,
            header.pgn,
            header.source,
            header.destination,
            crate::json::hex(data)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip() {
        let lines = [
            "1732406400.125 ble C0:3B:12:34:56:78 100242a0016207adceb37b605d7e0ee21b24df5c",
            "1732406400.500 vedirect ttyUSB0 0d0a560931333838300d0a",
            "1732406400.700000 can can0 18FF1297#0100A1B24C41",
            "1732406401.000 mqtt venetworking/HQyywwMAEI4/EDBC 2338",
            "1732406401.000 nmea nmea0 $WIMWV,045.0,R,12.3,N,A*1C",
            "1732406401.000 mesh radio0 94c3000c1a0a0d01",
            "1732406401.000 n2k can0 2,129025,2,255,a7c1cb19d0a51f03",
        ];
        for line in lines {
            let r = parse_line(line).unwrap().unwrap();
            assert_eq!(format(&r), line, "{r:?}");
        }
        assert_eq!(parse_line("# comment").unwrap(), None);
        assert!(parse_line("x ble a b").is_err());
        assert!(parse_line("1 ble C0:3B:12:34:56:78 zz").is_err());
        assert!(parse_line("1 radio a b").is_err());
        assert!(parse_line("1 n2k can0 2,129025,2,255").is_err());
        assert!(parse_line("1 n2k can0 9,129025,2,255,00").is_err());
    }
}
