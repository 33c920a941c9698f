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

    #[test]
    fn other_types_and_short_payloads_are_not_positions() {
        assert_eq!(message_type("55?MbV02;H;s<HtKR20EHE:0@T4@Dn2222222216L961O5Gf0NSQEp6ClRp8"), Some(5));
        assert_eq!(position_report("55?MbV02;H;s<HtKR20EHE:0@T4@Dn2222222216L961O5Gf0NSQEp6ClRp8"), None);
        assert_eq!(position_report("15M67"), None);
        assert_eq!(position_report(""), None);
    }
}
