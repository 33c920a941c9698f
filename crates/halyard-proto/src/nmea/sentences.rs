//! The sentences Halyard decodes (layouts: marine.md §2.2).

use super::fields::{self, Bad, Date, Position, TimeOfDay};
use super::frame::{Error, Frame};

/// Knots per metre per second and per km/h.
const KN_PER_MS: f64 = 1.943_844_5;
const KN_PER_KMH: f64 = 0.539_956_8;

/// What a sentence says.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sentence<'a> {
    /// Recommended minimum: time, fix status, position, speed and course, date, variation.
    Rmc(Rmc),
    /// Fix data: time, position, fix quality, satellites, HDOP, altitude.
    Gga(Gga),
    /// Position, time and status (the only position plaka.log's boat sends).
    Gll(Gll),
    /// DOP and active satellites.
    Gsa(Gsa),
    /// Course and speed over ground.
    Vtg(Vtg),
    /// Time and date.
    Zda(Zda),
    /// Wind angle and speed, apparent (R) or true (T).
    Mwv(Mwv),
    /// Apparent wind, angle off the bow left/right.
    Vwr(RelativeWind),
    /// True wind, angle off the bow left/right.
    Vwt(RelativeWind),
    /// Wind direction (true, magnetic) and speed.
    Mwd(Mwd),
    /// Meteorological composite.
    Mda(Mda),
    /// Transducer measurements.
    Xdr(Xdr<'a>),
    /// Heading, deviation, variation.
    Hdg(Hdg),
    /// Magnetic heading, degrees.
    Hdm(Option<f64>),
    /// True heading, degrees.
    Hdt(Option<f64>),
    /// Depth below transducer, m.
    Dbt(Dbt),
    /// Depth and transducer offset, m.
    Dpt(Dpt),
    /// Speed through water and heading.
    Vhw(Vhw),
    /// Water temperature, °C.
    Mtw(Option<f64>),
    /// An AIS message fragment.
    Vdm(Vdm<'a>),
    /// A well-formed sentence of a type Halyard does not read (GSV, VLW, RMB…).
    Unsupported,
}

/// RMC.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rmc {
    /// UTC time of the fix.
    pub time: Option<TimeOfDay>,
    /// Status `A` (valid fix; `V` is a warning: no fix).
    pub valid: bool,
    /// Position.
    pub position: Option<Position>,
    /// Speed over ground, kn.
    pub sog_kn: Option<f64>,
    /// Course over ground, degrees true.
    pub cog_true: Option<f64>,
    /// UTC date.
    pub date: Option<Date>,
    /// Magnetic variation, degrees (east positive).
    pub variation: Option<f64>,
    /// FAA mode (`A` autonomous, `D` differential, `E` estimated, `N` not valid…), NMEA 2.3+.
    pub mode: Option<char>,
}

/// GGA.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gga {
    /// UTC time.
    pub time: Option<TimeOfDay>,
    /// Position.
    pub position: Option<Position>,
    /// Fix quality: 0 no fix, 1 GPS, 2 DGPS, 3 PPS, 4 RTK, 5 float RTK, 6 dead reckoning…
    pub quality: Option<u8>,
    /// Satellites in use.
    pub satellites: Option<u8>,
    /// Horizontal dilution of precision.
    pub hdop: Option<f64>,
    /// Antenna altitude above mean sea level, m.
    pub altitude_m: Option<f64>,
}

/// GLL.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gll {
    /// Position.
    pub position: Option<Position>,
    /// UTC time.
    pub time: Option<TimeOfDay>,
    /// Status `A`.
    pub valid: bool,
    /// FAA mode.
    pub mode: Option<char>,
}

/// GSA.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gsa {
    /// 1 no fix, 2 2D, 3 3D.
    pub fix: Option<u8>,
    /// Position dilution of precision.
    pub pdop: Option<f64>,
    /// Horizontal dilution of precision.
    pub hdop: Option<f64>,
    /// Vertical dilution of precision.
    pub vdop: Option<f64>,
}

/// VTG.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Vtg {
    /// Course over ground, degrees true.
    pub cog_true: Option<f64>,
    /// Course over ground, degrees magnetic.
    pub cog_magnetic: Option<f64>,
    /// Speed over ground, kn (from km/h when only that is given).
    pub sog_kn: Option<f64>,
}

/// ZDA.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Zda {
    /// UTC time.
    pub time: Option<TimeOfDay>,
    /// UTC date, only when day, month and year are all given.
    pub date: Option<Date>,
    /// Local zone offset, minutes (as sent: some devices give the sign the other way).
    pub zone_minutes: Option<i16>,
}

/// Whether a wind angle is apparent or true.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindReference {
    /// `R`: relative to the moving boat (apparent).
    Apparent,
    /// `T`: true (theoretical), relative to the water.
    True,
}

/// MWV.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mwv {
    /// Angle clockwise from the bow, 0–360°.
    pub angle: Option<f64>,
    /// Apparent or true.
    pub reference: WindReference,
    /// Speed, kn (converted from km/h or m/s).
    pub speed_kn: Option<f64>,
    /// Status `A`.
    pub valid: bool,
}

/// VWR and VWT.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RelativeWind {
    /// Angle off the bow, −180…180° (port negative).
    pub angle: Option<f64>,
    /// Speed, kn (from m/s or km/h when knots are missing).
    pub speed_kn: Option<f64>,
}

/// MWD.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mwd {
    /// Direction the wind blows from, degrees true.
    pub direction_true: Option<f64>,
    /// Same, degrees magnetic.
    pub direction_magnetic: Option<f64>,
    /// Speed, kn.
    pub speed_kn: Option<f64>,
}

/// MDA.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mda {
    /// Barometric pressure, bar (from inHg when only that is given).
    pub pressure_bar: Option<f64>,
    /// Air temperature, °C.
    pub air_c: Option<f64>,
    /// Water temperature, °C.
    pub water_c: Option<f64>,
    /// Relative humidity, %.
    pub humidity: Option<f64>,
    /// Dew point, °C.
    pub dew_point_c: Option<f64>,
    /// Wind direction, degrees true.
    pub wind_direction_true: Option<f64>,
    /// Wind speed, kn.
    pub wind_kn: Option<f64>,
}

/// XDR: any number of (type, value, unit, name) quadruplets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Xdr<'a> {
    frame: Frame<'a>,
}

/// One XDR measurement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measurement<'a> {
    /// Transducer type: `A` angle, `C` temperature, `P` pressure, `H` humidity…
    pub kind: &'a str,
    /// Value.
    pub value: Option<f64>,
    /// Unit as sent (`D` degrees, `C` °C, `B` bar, `P` pascal…).
    pub unit: &'a str,
    /// Transducer name (`HEEL`, `AIRTEMP`, `Barometer`).
    pub name: &'a str,
}

impl<'a> Xdr<'a> {
    /// The measurements (an unreadable value is `None`).
    pub fn measurements(&self) -> impl Iterator<Item = Measurement<'a>> {
        let mut f = self.frame.fields();
        core::iter::from_fn(move || {
            let kind = f.next()?;
            let value = f.next().unwrap_or("");
            let unit = f.next().unwrap_or("");
            let name = f.next().unwrap_or("");
            Some(Measurement { kind, value: fields::num(value).ok().flatten(), unit, name })
        })
    }
}

/// HDG.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hdg {
    /// Magnetic sensor heading, degrees.
    pub heading: Option<f64>,
    /// Deviation, degrees (east positive).
    pub deviation: Option<f64>,
    /// Variation, degrees (east positive).
    pub variation: Option<f64>,
}

/// DBT.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dbt {
    /// Depth below the transducer, m (from feet or fathoms when metres are missing).
    pub depth_m: Option<f64>,
}

/// DPT.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dpt {
    /// Depth below the transducer, m.
    pub depth_m: Option<f64>,
    /// Offset, m: positive to the waterline, negative to the keel.
    pub offset_m: Option<f64>,
}

/// VHW.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Vhw {
    /// Heading, degrees true.
    pub heading_true: Option<f64>,
    /// Heading, degrees magnetic.
    pub heading_magnetic: Option<f64>,
    /// Speed through water, kn.
    pub stw_kn: Option<f64>,
}

/// An AIS fragment (`!AIVDM`, or `!AIVDO` for our own ship).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vdm<'a> {
    /// `VDO`: our own ship.
    pub own: bool,
    /// Fragments in the message.
    pub fragments: u8,
    /// This fragment's number, from 1.
    pub fragment: u8,
    /// Sequential id tying the fragments of a message.
    pub message_id: Option<u8>,
    /// Radio channel `A`/`B`.
    pub channel: Option<char>,
    /// The 6-bit armoured payload.
    pub payload: &'a str,
    /// Fill bits at the end of the payload.
    pub fill_bits: u8,
}

fn one_char(f: &str) -> Option<char> {
    let mut c = f.chars();
    match (c.next(), c.next()) {
        (Some(a), None) => Some(a),
        _ => None,
    }
}

/// Signed by a direction letter: `E`/`R` positive, `W`/`L` negative.
fn signed(v: Option<f64>, side: &str, negative: &str) -> Option<f64> {
    v.map(|v| if side == negative { -v } else { v })
}

/// The most fields a decoded sentence reads (GSA has 18; XDR reads its own).
const MAX_FIELDS: usize = 24;

/// Reads fields of one sentence, naming the one that fails. The fields are split once.
struct Reader<'a> {
    fields: [&'a str; MAX_FIELDS],
    sentence: &'static str,
}

impl<'a> Reader<'a> {
    fn new(frame: &Frame<'a>, sentence: &'static str) -> Self {
        let mut fields = [""; MAX_FIELDS];
        for (slot, f) in fields.iter_mut().zip(frame.fields()) {
            *slot = f;
        }
        Reader { fields, sentence }
    }

    /// Field `n` (from 1), empty when absent.
    fn f(&self, n: usize) -> &'a str {
        n.checked_sub(1).and_then(|i| self.fields.get(i)).copied().unwrap_or("")
    }

    fn err(&self, n: usize) -> Error {
        Error::Field { sentence: self.sentence, field: n as u8 }
    }

    fn num(&self, n: usize) -> Result<Option<f64>, Error> {
        fields::num(self.f(n)).map_err(|Bad| self.err(n))
    }

    fn int(&self, n: usize) -> Result<Option<u8>, Error> {
        fields::int(self.f(n)).map_err(|Bad| self.err(n))
    }

    fn time(&self, n: usize) -> Result<Option<TimeOfDay>, Error> {
        fields::time(self.f(n)).map_err(|Bad| self.err(n))
    }

    fn position(&self, n: usize) -> Result<Option<Position>, Error> {
        fields::position(self.f(n), self.f(n + 1), self.f(n + 2), self.f(n + 3)).map_err(|Bad| self.err(n))
    }

    /// A speed in knots from (kn, m/s, km/h) field numbers, the first present.
    fn speed(&self, kn: usize, ms: Option<usize>, kmh: Option<usize>) -> Result<Option<f64>, Error> {
        if let Some(v) = self.num(kn)? {
            return Ok(Some(v));
        }
        if let Some(v) = ms.map(|n| self.num(n)).transpose()?.flatten() {
            return Ok(Some(v * KN_PER_MS));
        }
        Ok(kmh.map(|n| self.num(n)).transpose()?.flatten().map(|v| v * KN_PER_KMH))
    }
}

/// The standard sentence types decoded here (and MTA/MMB, which only need recognising).
pub(crate) fn is_standard(kind: &str) -> bool {
    matches!(
        kind,
        "RMC"
            | "GGA"
            | "GLL"
            | "GSA"
            | "GSV"
            | "VTG"
            | "ZDA"
            | "MWV"
            | "VWR"
            | "VWT"
            | "MWD"
            | "MDA"
            | "XDR"
            | "HDG"
            | "HDM"
            | "HDT"
            | "DBT"
            | "DPT"
            | "VHW"
            | "MTW"
            | "MTA"
            | "MMB"
    )
}

/// Decode a framed sentence.
pub(crate) fn decode<'a>(frame: &Frame<'a>) -> Result<Sentence<'a>, Error> {
    let kind: &'static str = match frame.kind {
        "RMC" => "RMC",
        "GGA" => "GGA",
        "GLL" => "GLL",
        "GSA" => "GSA",
        "VTG" => "VTG",
        "ZDA" => "ZDA",
        "MWV" => "MWV",
        "VWR" => "VWR",
        "VWT" => "VWT",
        "MWD" => "MWD",
        "MDA" => "MDA",
        "XDR" => "XDR",
        "HDG" => "HDG",
        "HDM" => "HDM",
        "HDT" => "HDT",
        "DBT" => "DBT",
        "DPT" => "DPT",
        "VHW" => "VHW",
        "MTW" => "MTW",
        "VDM" | "VDO" if frame.encapsulated => "VDM",
        _ => return Ok(Sentence::Unsupported),
    };
    let r = Reader::new(frame, kind);
    Ok(match kind {
        "RMC" => Sentence::Rmc(Rmc {
            time: r.time(1)?,
            valid: r.f(2) == "A",
            position: r.position(3)?,
            sog_kn: r.num(7)?,
            cog_true: r.num(8)?,
            date: fields::date(r.f(9)).map_err(|Bad| r.err(9))?,
            variation: signed(r.num(10)?, r.f(11), "W"),
            mode: one_char(r.f(12)),
        }),
        "GGA" => Sentence::Gga(Gga {
            time: r.time(1)?,
            position: r.position(2)?,
            quality: r.int(6)?,
            satellites: r.int(7)?,
            hdop: r.num(8)?,
            altitude_m: r.num(9)?,
        }),
        "GLL" => Sentence::Gll(Gll {
            position: r.position(1)?,
            time: r.time(5)?,
            valid: r.f(6) == "A",
            mode: one_char(r.f(7)),
        }),
        "GSA" => Sentence::Gsa(Gsa { fix: r.int(2)?, pdop: r.num(15)?, hdop: r.num(16)?, vdop: r.num(17)? }),
        "VTG" => {
            Sentence::Vtg(Vtg { cog_true: r.num(1)?, cog_magnetic: r.num(3)?, sog_kn: r.speed(5, None, Some(7))? })
        }
        "ZDA" => {
            let zone = match (r.f(5), r.f(6)) {
                ("", _) => None,
                (h, m) => {
                    // Zones run from -13 to +14 hours (NMEA 0183 ZDA: "local zone hours, 00 to
                    // ±13"; Kiribati is +14); anything else is corruption, not a zone.
                    let h: i16 = h.parse().ok().filter(|h: &i16| (-14..=14).contains(h)).ok_or_else(|| r.err(5))?;
                    let m: i16 = if m.is_empty() {
                        0
                    } else {
                        m.parse().ok().filter(|m: &i16| (0..60).contains(m)).ok_or_else(|| r.err(6))?
                    };
                    Some(h * 60 + if h < 0 || r.f(5).starts_with('-') { -m } else { m })
                }
            };
            Sentence::Zda(Zda {
                time: r.time(1)?,
                date: fields::date_parts(r.f(2), r.f(3), r.f(4)).map_err(|Bad| r.err(2))?,
                zone_minutes: zone,
            })
        }
        "MWV" => {
            let reference = match r.f(2) {
                "R" => WindReference::Apparent,
                "T" => WindReference::True,
                _ => return Err(r.err(2)),
            };
            let speed = r.num(3)?;
            let speed_kn = match r.f(4) {
                "N" | "" => speed,
                "M" => speed.map(|v| v * KN_PER_MS),
                "K" => speed.map(|v| v * KN_PER_KMH),
                _ => return Err(r.err(4)),
            };
            Sentence::Mwv(Mwv { angle: r.num(1)?, reference, speed_kn, valid: r.f(5) != "V" })
        }
        "VWR" | "VWT" => {
            let w = RelativeWind { angle: signed(r.num(1)?, r.f(2), "L"), speed_kn: r.speed(3, Some(5), Some(7))? };
            if kind == "VWR" {
                Sentence::Vwr(w)
            } else {
                Sentence::Vwt(w)
            }
        }
        "MWD" => Sentence::Mwd(Mwd {
            direction_true: r.num(1)?,
            direction_magnetic: r.num(3)?,
            speed_kn: r.speed(5, Some(7), None)?,
        }),
        "MDA" => Sentence::Mda(Mda {
            pressure_bar: match r.num(3)? {
                Some(b) => Some(b),
                None => r.num(1)?.map(|inhg| inhg * 0.033_863_886),
            },
            air_c: r.num(5)?,
            water_c: r.num(7)?,
            humidity: r.num(9)?,
            dew_point_c: r.num(11)?,
            wind_direction_true: r.num(13)?,
            wind_kn: r.speed(17, Some(19), None)?,
        }),
        "XDR" => Sentence::Xdr(Xdr { frame: *frame }),
        "HDG" => Sentence::Hdg(Hdg {
            heading: r.num(1)?,
            deviation: signed(r.num(2)?, r.f(3), "W"),
            variation: signed(r.num(4)?, r.f(5), "W"),
        }),
        "HDM" => Sentence::Hdm(r.num(1)?),
        "HDT" => Sentence::Hdt(r.num(1)?),
        "DBT" => Sentence::Dbt(Dbt {
            depth_m: match r.num(3)? {
                Some(m) => Some(m),
                None => match r.num(1)? {
                    Some(ft) => Some(ft * 0.3048),
                    None => r.num(5)?.map(|fathoms| fathoms * 1.8288),
                },
            },
        }),
        "DPT" => Sentence::Dpt(Dpt { depth_m: r.num(1)?, offset_m: r.num(2)? }),
        "VHW" => Sentence::Vhw(Vhw {
            heading_true: r.num(1)?,
            heading_magnetic: r.num(3)?,
            stw_kn: r.speed(5, None, Some(7))?,
        }),
        "MTW" => Sentence::Mtw(r.num(1)?),
        _ => {
            // VDM / VDO.
            let fragments = r.int(1)?.filter(|n| *n >= 1).ok_or_else(|| r.err(1))?;
            let fragment = r.int(2)?.filter(|n| (1..=fragments).contains(n)).ok_or_else(|| r.err(2))?;
            let payload = r.f(5);
            if !payload.bytes().all(|b| (48..=87).contains(&b) || (96..=119).contains(&b)) {
                return Err(r.err(5));
            }
            Sentence::Vdm(Vdm {
                own: frame.kind == "VDO",
                fragments,
                fragment,
                message_id: r.int(3)?,
                channel: one_char(r.f(4)),
                payload,
                fill_bits: r.int(6)?.filter(|b| *b <= 5).ok_or_else(|| r.err(6))?,
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;

    fn sentence(line: &str) -> Sentence<'_> {
        parse(line.as_bytes()).unwrap_or_else(|e| panic!("{line}: {e}")).sentence
    }

    /// Lines from the real logs of shared/data/nmea (README there).
    #[test]
    fn real_sentences() {
        let Sentence::Rmc(rmc) = sentence("$IIRMC,221802,A,0907.340,S,14013.396,W,06.5,230,211110,10,E,A*0B") else {
            panic!()
        };
        assert!(rmc.valid);
        assert_eq!(rmc.date, Some(Date { year: 2010, month: 11, day: 21 }));
        assert_eq!(
            (rmc.sog_kn, rmc.cog_true, rmc.variation, rmc.mode),
            (Some(6.5), Some(230.0), Some(10.0), Some('A'))
        );
        let Sentence::Mwv(m) = sentence("$IIMWV,338,R,13.41,N,A*2C") else { panic!() };
        assert_eq!(
            (m.angle, m.reference, m.speed_kn, m.valid),
            (Some(338.0), WindReference::Apparent, Some(13.41), true)
        );
        let Sentence::Vwt(w) = sentence("$IIVWT,039,L,08.10,N,04.17,M,,*2B") else { panic!() };
        assert_eq!((w.angle, w.speed_kn), (Some(-39.0), Some(8.1)));
        let Sentence::Vhw(v) = sentence("$IIVHW,,T,,M,06.11,N,11.31,K*51") else { panic!() };
        assert_eq!((v.heading_true, v.stw_kn), (None, Some(6.11)));
        assert_eq!(sentence("$IIHDT,,T*0C"), Sentence::Hdt(None));
        assert_eq!(sentence("$GPWCV,,N,,D*5F"), Sentence::Unsupported);
    }

    #[test]
    fn wind_units_and_depth_fallbacks() {
        let Sentence::Mwv(m) = sentence("$WIMWV,90,T,10,M,A") else { panic!() };
        assert!((m.speed_kn.unwrap() - 19.438_445).abs() < 1e-6);
        assert!(parse(b"$WIMWV,90,X,10,N,A").is_err(), "reference must be R or T");
        let Sentence::Dbt(d) = sentence("$SDDBT,10.0,f,,M,,F") else { panic!() };
        assert!((d.depth_m.unwrap() - 3.048).abs() < 1e-9);
        let Sentence::Xdr(x) = sentence("$IIXDR,C,,C,AIRTEMP,A,-1.5,D,HEEL") else { panic!() };
        let m: std::vec::Vec<_> = x.measurements().collect();
        assert_eq!(m.len(), 2);
        assert_eq!((m[0].name, m[0].value), ("AIRTEMP", None));
        assert_eq!((m[1].kind, m[1].value, m[1].unit, m[1].name), ("A", Some(-1.5), "D", "HEEL"));
        let Sentence::Zda(z) = sentence("$GPZDA,160012.71,11,03,2004,-1,00") else { panic!() };
        assert_eq!((z.date.map(|d| d.day), z.zone_minutes), (Some(11), Some(-60)));
        // The fuzzer's find: 1000 zone hours wrapped a 16-bit product (-5536 minutes).
        assert!(parse(b"$GPZDA,120000.00,01,01,2026,1000,00*62").is_err());
        assert!(parse(b"$GPZDA,120000.00,01,01,2026,05,75*64").is_err(), "75 zone minutes");
        let Sentence::Zda(z) = parse(b"$GPZDA,120000.00,01,01,2026,14,45*67").unwrap().sentence else { panic!() };
        assert_eq!(z.zone_minutes, Some(14 * 60 + 45), "the widest zone there is (Chatham in summer is +13:45)");
        let Sentence::Zda(z) = sentence("$IIZDA,153300,,,,,") else { panic!() };
        assert_eq!(z.date, None, "never invent a date");
        assert_eq!(
            parse(b"$GPRMC,221802,A,0907.340,S,14013.396,W,x,230,211110,,,A"),
            Err(Error::Field { sentence: "RMC", field: 7 })
        );
    }
}
