//! NMEA 0183 parsing: Halyard's parser (`halyard_proto::nmea`) against the `nmea` crate 0.8, in
//! sentences per second on a real log, and what each makes of the five real logs of
//! shared/data/nmea (printed first). `cargo bench -p halyard --bench nmea`.

use std::path::{Path, PathBuf};

use divan::{black_box, Bencher};
use halyard_proto::nmea::{self as ours, LineFramer, Sentence};

const LOGS: [&str; 5] = [
    "bundg_zeus_9.log",
    "gofree-merrimac.log",
    "going.to.groix.2.nmea",
    "plaka.log",
    "rob_2021-03-05_pacific_replay.nmea",
];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../halyard-proto/tests/fixtures/nmea")
}

fn shared(name: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/nmea").join(name);
    p.exists().then_some(p)
}

/// The benchmark's input: a u-blox GPS with weather sensors (3,000 lines of going.to.groix).
fn sample() -> Vec<u8> {
    std::fs::read(fixtures().join("going.to.groix.head.nmea")).unwrap()
}

fn lines(bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    LineFramer::new().push_all(bytes, |l| {
        if let Ok(l) = l {
            out.push(String::from_utf8_lossy(l).into_owned());
        }
    });
    out
}

fn main() {
    println!("{:38} {:>8} | {:>22} | {:>22}", "log", "lines", "halyard: ok/unsup/err", "nmea 0.8: ok/unsup/err");
    for name in LOGS {
        let Some(path) = shared(name) else { continue };
        let all = lines(&std::fs::read(path).unwrap());
        let (mut a, mut b) = ([0usize; 3], [0usize; 3]);
        for l in &all {
            a[match ours::parse(l.as_bytes()) {
                Ok(p) if p.sentence == Sentence::Unsupported => 1,
                Ok(_) => 0,
                Err(_) => 2,
            }] += 1;
            b[match nmea::parse_str(l) {
                Ok(nmea::ParseResult::Unsupported(_)) => 1,
                Ok(_) => 0,
                Err(_) => 2,
            }] += 1;
        }
        println!(
            "{name:38} {:>8} | {:>22} | {:>22}",
            all.len(),
            format!("{}/{}/{}", a[0], a[1], a[2]),
            format!("{}/{}/{}", b[0], b[1], b[2])
        );
    }
    divan::main();
}

/// Framing and parsing every line, as the gateway does.
#[divan::bench(sample_count = 50)]
fn halyard_proto_nmea(b: Bencher) {
    let bytes = sample();
    let n = lines(&bytes).len();
    b.counter(divan::counter::ItemsCount::new(n)).bench_local(|| {
        let mut ok = 0usize;
        LineFramer::new().push_all(black_box(&bytes), |l| {
            if l.and_then(ours::parse).is_ok() {
                ok += 1;
            }
        });
        ok
    });
}

/// The `nmea` crate on the same lines (already split: its parser takes one sentence).
#[divan::bench(sample_count = 50)]
fn nmea_crate_0_8(b: Bencher) {
    let all = lines(&sample());
    b.counter(divan::counter::ItemsCount::new(all.len()))
        .bench_local(|| all.iter().filter(|l| nmea::parse_str(black_box(l)).is_ok()).count());
}
