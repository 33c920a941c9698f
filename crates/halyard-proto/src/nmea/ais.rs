//! AIS position reports from `!AIVDM`/`!AIVDO` payloads (ntpsec/gpsd:www/AIVDM.adoc): the 6-bit
//! armouring and the Class A (types 1, 2, 3) and Class B (type 18) position reports, which fit
//! in one fragment. Other types are recognised by their number only.

/// A vessel's position report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PositionReport {
    /// Message type (1, 2, 3 or 18).
    pub message_type: u8,
    /// The vessel's MMSI.
    pub mmsi: u32,
    /// Latitude, degrees (`None`: not available, 91°).
    pub lat: Option<f64>,
    /// Longitude, degrees (`None`: not available, 181°).
    pub lon: Option<f64>,
    /// Speed over ground, kn.
    pub sog_kn: Option<f64>,
    /// Course over ground, degrees true.
    pub cog: Option<f64>,
    /// True heading, degrees.
    pub heading: Option<u16>,
}

/// The payload's bits, 6 per character.
struct Bits<'a> {
    payload: &'a [u8],
}

impl Bits<'_> {
    fn len(&self) -> usize {
        self.payload.len() * 6
    }

    fn sixbit(c: u8) -> u64 {
        let v = c.wrapping_sub(48);
        u64::from(if v > 40 { v - 8 } else { v } & 0x3F)
    }

    /// Bits `[start, start + width)` as an unsigned number (width ≤ 32).
    fn unsigned(&self, start: usize, width: usize) -> u32 {
        let mut v = 0u64;
        for i in start..start + width {
            let bit = (Self::sixbit(self.payload[i / 6]) >> (5 - i % 6)) & 1;
            v = v << 1 | bit;
        }
        v as u32
    }

    fn signed(&self, start: usize, width: usize) -> i32 {
        let v = self.unsigned(start, width);
        ((v << (32 - width)) as i32) >> (32 - width)
    }
}

/// The message type of a payload (its first character).
pub fn message_type(payload: &str) -> Option<u8> {
    payload.bytes().next().map(|c| Bits::sixbit(c) as u8)
}

/// Decode a single-fragment position report; `None` for other types or a short payload.
pub fn position_report(payload: &str) -> Option<PositionReport> {
    let bits = Bits { payload: payload.as_bytes() };
    let message_type = message_type(payload)?;
    // Where SOG, longitude, latitude, COG and heading start.
    let (sog, lon) = match message_type {
        1..=3 => (50, 61),
        18 => (46, 57),
        _ => return None,
    };
    if bits.len() < lon + 28 + 27 + 12 + 9 {
        return None;
    }
    let mmsi = bits.unsigned(8, 30);
    let sog_raw = bits.unsigned(sog, 10);
    let lon_raw = bits.signed(lon, 28);
    let lat_raw = bits.signed(lon + 28, 27);
    let cog_raw = bits.unsigned(lon + 55, 12);
    let heading = bits.unsigned(lon + 67, 9) as u16;
    let degrees = |raw: i32, limit: f64| {
        let d = f64::from(raw) / 600_000.0;
        (d.abs() <= limit).then_some(d)
    };
    Some(PositionReport {
        message_type,
        mmsi,
        lat: degrees(lat_raw, 90.0),
        lon: degrees(lon_raw, 180.0),
        sog_kn: (sog_raw != 1023).then(|| f64::from(sog_raw) / 10.0),
        cog: (cog_raw < 3600).then(|| f64::from(cog_raw) / 10.0),
        heading: (heading < 360).then_some(heading),
    })
}

/// Characters of a single-slot Class A position report: 168 bits, 6 per character.
pub const CLASS_A_CHARS: usize = 28;

/// Write bits MSB first into six-bit values.
fn put(sixbits: &mut [u8; CLASS_A_CHARS], start: usize, width: usize, value: u64) {
    for i in 0..width {
        let bit = (value >> (width - 1 - i)) & 1;
        let at = start + i;
        sixbits[at / 6] |= (bit as u8) << (5 - at % 6);
    }
}

/// A Class A position report (type 1, 2 or 3 of `report`; AIVDM.adoc's layout: type, repeat,
/// MMSI, navigational status, rate of turn, SOG, accuracy, longitude, latitude, COG, heading,
/// UTC second…) armoured into its 28 payload characters, for a simulator's AIS targets. `None`
/// fields are sent as the standard's "not available" values; `status` is the navigational
/// status (0 under way using engine, 1 at anchor, 5 moored, 7 fishing, 15 undefined).
pub fn encode_class_a(report: &PositionReport, status: u8, second: u8) -> [u8; CLASS_A_CHARS] {
    // `core` has no f64::round: half away from zero by hand (casts truncate toward zero).
    let round = |x: f64| if x < 0.0 { (x - 0.5) as i64 } else { (x + 0.5) as i64 };
    let mut six = [0u8; CLASS_A_CHARS];
    let minutes = |d: Option<f64>, na: f64| round(d.unwrap_or(na) * 600_000.0);
    let twos = |v: i64, width: usize| (v as u64) & ((1u64 << width) - 1);
    put(&mut six, 0, 6, u64::from(report.message_type.clamp(1, 3)));
    put(&mut six, 8, 30, u64::from(report.mmsi & 0x3FFF_FFFF));
    put(&mut six, 38, 4, u64::from(status & 0xF));
    put(&mut six, 42, 8, 0x80); // rate of turn not available
    put(&mut six, 50, 10, report.sog_kn.map_or(1023, |s| (round(s * 10.0).max(0) as u64).min(1022)));
    put(&mut six, 61, 28, twos(minutes(report.lon, 181.0), 28));
    put(&mut six, 89, 27, twos(minutes(report.lat, 91.0), 27));
    put(&mut six, 116, 12, report.cog.map_or(3600, |c| (round((c % 360.0 + 360.0) % 360.0 * 10.0) as u64) % 3600));
    put(&mut six, 128, 9, report.heading.map_or(511, |h| u64::from(h % 360)));
    put(&mut six, 137, 6, u64::from(second.min(63)));
    six.map(|v| if v < 40 { v + 48 } else { v + 56 })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// gpsd's AIVDM.adoc example sentence `!AIVDM,1,1,,B,15M67FC000G?ufbE`FepT@3n00Sa,0*5C`,
    /// with the values the independent decoder pyais (PyPI) gives for it.
    #[test]
    fn class_a_report_against_pyais() {
        let r = position_report("15M67FC000G?ufbE`FepT@3n00Sa").unwrap();
        assert_eq!((r.message_type, r.mmsi), (1, 366_053_209));
        assert_eq!((r.sog_kn, r.cog, r.heading), (Some(0.0), Some(219.3), Some(1)));
        assert!((r.lat.unwrap() - 37.802_118).abs() < 1e-6, "{r:?}");
        assert!((r.lon.unwrap() - -122.341_618).abs() < 1e-6, "{r:?}");
    }

    /// The encoder writes gpsd's example back character for character (its rate of turn, which
    /// the encoder sends as "not available", and its radio status bits aside), and what it
    /// writes decodes to what it was given.
    #[test]
    fn class_a_encoding_round_trips() {
        let r = position_report("15M67FC000G?ufbE`FepT@3n00Sa").unwrap();
        let out = encode_class_a(&r, 3, 51);
        let text = core::str::from_utf8(&out).unwrap();
        assert_eq!(&text[..7], "15M67FC");
        assert_eq!(&text[9..23], "0G?ufbE`FepT@3");
        assert_eq!(position_report(text), Some(r));
        let none = PositionReport {
            message_type: 1,
            mmsi: 227_000_001,
            lat: None,
            lon: None,
            sog_kn: None,
            cog: None,
            heading: None,
        };
        assert_eq!(position_report(core::str::from_utf8(&encode_class_a(&none, 1, 60)).unwrap()), Some(none));
        let south_west = PositionReport {
            lat: Some(-33.9),
            lon: Some(-70.5),
            sog_kn: Some(12.3),
            cog: Some(359.9),
            heading: Some(7),
            ..none
        };
        assert_eq!(
            position_report(core::str::from_utf8(&encode_class_a(&south_west, 0, 1)).unwrap()),
            Some(south_west)
        );
    }

    #[test]
    fn other_types_and_short_payloads_are_not_positions() {
        assert_eq!(message_type("55?MbV02;H;s<HtKR20EHE:0@T4@Dn2222222216L961O5Gf0NSQEp6ClRp8"), Some(5));
        assert_eq!(position_report("55?MbV02;H;s<HtKR20EHE:0@T4@Dn2222222216L961O5Gf0NSQEp6ClRp8"), None);
        assert_eq!(position_report("15M67"), None);
        assert_eq!(position_report(""), None);
    }
}
