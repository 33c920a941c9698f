//! The NMEA 0183 parser on real logs (fixtures/nmea, excerpts of shared/data/nmea; the whole
//! logs too when the shared folder is there). Expected facts come from the logs' README and
//! from the independent decoder pyais for AIS, not from this parser.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use halyard_proto::nmea::{self, ais, Checksum, Error, LineFramer, Sentence, WindReference};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/nmea").join(name)
}

fn shared(name: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/nmea").join(name);
    p.exists().then_some(p)
}

/// What a log holds, by sentence type and error kind.
#[derive(Debug, Default)]
struct Tally {
    lines: usize,
    ok: BTreeMap<String, usize>,
    errors: BTreeMap<&'static str, usize>,
    no_checksum: usize,
    nuls: u64,
    rmc_invalid: usize,
    gll: usize,
    zda_dates: usize,
    zda: usize,
    mwv: [usize; 2],
    ais_positions: usize,
}

fn tally(bytes: &[u8]) -> Tally {
    let mut t = Tally::default();
    let mut framer = LineFramer::new();
    framer.push_all(bytes, |line| {
        t.lines += 1;
        let parsed = line.and_then(nmea::parse);
        match parsed {
            Ok(p) => {
                *t.ok.entry(p.frame.kind.to_owned()).or_default() += 1;
                if p.frame.checksum == Checksum::Absent {
                    t.no_checksum += 1;
                }
                match p.sentence {
                    Sentence::Rmc(r) if !r.valid => t.rmc_invalid += 1,
                    Sentence::Gll(g) if g.position.is_some() => t.gll += 1,
                    Sentence::Zda(z) => {
                        t.zda += 1;
                        t.zda_dates += usize::from(z.date.is_some());
                    }
                    Sentence::Mwv(m) => t.mwv[usize::from(m.reference == WindReference::True)] += 1,
                    Sentence::Vdm(v) if v.fragments == 1 && ais::position_report(v.payload).is_some() => {
                        t.ais_positions += 1
                    }
                    _ => {}
                }
            }
            Err(e) => *t.errors.entry(e.kind()).or_default() += 1,
        }
    });
    t.nuls = framer.nuls_dropped;
    t
}

#[test]
fn bundg_zeus_chartplotter() {
    let t = tally(&std::fs::read(fixture("bundg_zeus_9.log")).unwrap());
    // The `#` header is not NMEA; everything else parses with a valid checksum.
    assert_eq!(t.errors.keys().collect::<Vec<_>>(), [&"not_a_sentence"], "{t:?}");
    assert_eq!(t.no_checksum, 0);
    for kind in ["RMC", "GGA", "GLL", "MWV", "MWD", "XDR", "DBT", "DPT", "HDG", "VHW"] {
        assert!(t.ok.get(kind).copied().unwrap_or(0) > 10, "{kind}: {t:?}");
    }
    assert!(t.mwv[0] > 0 && t.mwv[1] > 0, "apparent and true wind: {t:?}");
}

#[test]
fn gofree_ais_positions_match_pyais() {
    let bytes = std::fs::read(fixture("gofree-merrimac.log")).unwrap();
    let t = tally(&bytes);
    assert!(t.errors.is_empty(), "{t:?}");
    assert!(t.ok["VDM"] > 1000 && t.ais_positions > 1000, "{t:?}");
    assert!(t.zda > 0 && t.zda_dates == t.zda, "ZDA with a negative zone: {t:?}");
    // Every position report pyais decoded, decoded alike.
    let expected: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(fixture("gofree-ais.pyais.json")).unwrap()).unwrap();
    assert_eq!(expected.len(), 300);
    for e in &expected {
        let r = ais::position_report(e["payload"].as_str().unwrap()).unwrap();
        assert_eq!(u64::from(r.message_type), e["type"].as_u64().unwrap());
        assert_eq!(u64::from(r.mmsi), e["mmsi"].as_u64().unwrap());
        let close = |a: Option<f64>, b: &serde_json::Value, what: &str| match (a, b.as_f64()) {
            (Some(a), Some(b)) => assert!((a - b).abs() < 1e-6, "{what}: {a} vs {b} in {e}"),
            (a, _) => panic!("{what}: {a:?} vs {b} in {e}"),
        };
        // pyais gives 91/181 for "not available", where this gives None.
        if e["lat"].as_f64() != Some(91.0) {
            close(r.lat, &e["lat"], "lat");
        }
        if e["lon"].as_f64() != Some(181.0) {
            close(r.lon, &e["lon"], "lon");
        }
        if e["speed"].as_f64() != Some(102.3) {
            close(r.sog_kn, &e["speed"], "speed");
        }
        if e["course"].as_f64() != Some(360.0) {
            close(r.cog, &e["course"], "course");
        }
        match e["heading"].as_u64() {
            Some(511) => assert_eq!(r.heading, None),
            h => assert_eq!(r.heading.map(u64::from), h),
        }
    }
}

#[test]
fn plaka_has_positions_only_from_gll_and_no_date() {
    let t = tally(&std::fs::read(fixture("plaka.head.log")).unwrap());
    assert!(!t.ok.contains_key("RMC") && !t.ok.contains_key("GGA"), "{t:?}");
    assert!(t.gll > 100, "{t:?}");
    assert!(t.zda > 0 && t.zda_dates == 0, "never invent a date: {t:?}");
    assert!(t.mwv[0] > 0 && t.mwv[1] > 0 && t.ok["VWT"] > 0, "{t:?}");
    // The excerpt was cut in the middle of a line: at most that one is unusable.
    assert!(t.errors.values().sum::<usize>() <= 1, "{t:?}");
}

#[test]
fn rob_nul_runs_inside_sentences_still_parse() {
    let t = tally(&std::fs::read(fixture("rob.excerpt.nmea")).unwrap());
    assert!(t.nuls > 1000, "{t:?}");
    assert!(t.errors.is_empty(), "{t:?}");
    assert!(t.ok["RMC"] > 0 && t.ok["GLL"] > 0 && t.ok["MWV"] > 0, "{t:?}");
}

#[test]
fn groix_u_blox_log() {
    let t = tally(&std::fs::read(fixture("going.to.groix.head.nmea")).unwrap());
    for kind in ["RMC", "GGA", "GLL", "GSA", "VTG", "XDR", "MWV"] {
        assert!(t.ok.contains_key(kind), "{kind}: {t:?}");
    }
    assert!(t.ok["GSV"] > 0, "GSV is recognised (unsupported, not an error)");
}

/// The whole logs of the shared folder, when present: no panic, every line either parsed or
/// counted with its reason; the facts of the README.
#[test]
fn whole_logs_from_the_shared_folder() {
    let Some(groix) = shared("going.to.groix.2.nmea") else {
        eprintln!("shared/data/nmea is not here: the excerpts above cover the quirks");
        return;
    };
    let t = tally(&std::fs::read(groix).unwrap());
    assert!(t.lines > 250_000, "{t:?}");
    let bad = t.errors.get("checksum").copied().unwrap_or(0);
    assert!(bad > 0 && bad < 100, "a few bad checksums: {t:?}");
    assert!(t.rmc_invalid > 0, "real fix loss: RMC status V: {t:?}");
    let t = tally(&std::fs::read(shared("plaka.log").unwrap()).unwrap());
    assert!(t.errors.is_empty() && t.zda_dates == 0 && !t.ok.contains_key("RMC"), "{t:?}");
    let t = tally(&std::fs::read(shared("rob_2021-03-05_pacific_replay.nmea").unwrap()).unwrap());
    assert!(t.errors.is_empty() && t.nuls > 0, "{t:?}");
}

#[test]
fn errors_say_what_is_wrong() {
    assert_eq!(
        nmea::parse(b"$GPGLL,4916.45,N,12311.12,W,225444,A*1C").err(),
        Some(Error::Checksum { stated: 0x1C, computed: 0x31 })
    );
    assert_eq!(nmea::parse(b"$GPGLL,4916.45,N,12311.12,W,225444,A*31").unwrap().frame.kind, "GLL");
}
