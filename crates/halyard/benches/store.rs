//! The history store: readings written in the recorder's batches (samples plus 1-minute, 1-hour
//! and day rollups, one transaction per batch) into SQLite on disk, and one day's report over a
//! simulated week. `cargo bench -p halyard --bench store`.

use divan::{black_box, Bencher};
use halyard::store::{rollup::MAX_HOLD_MS, Backend, Calendar, Roller, Store};

fn main() {
    divan::main();
}

/// Readings per batch, as the recorder writes them.
const BATCH: usize = 5_000;

/// 5,000 readings of 50 series, 10 s apart, one batch: the time per batch gives readings/s.
#[divan::bench(sample_count = 30)]
fn write_a_batch_of_5000_readings(b: Bencher) {
    let dir = std::env::temp_dir().join(format!("halyard-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bench.sqlite");
    let _ = std::fs::remove_file(&path);
    let mut store = Store::open(&path).unwrap();
    let ids: Vec<u32> = (0..50).map(|i| store.series_id("boat", &format!("metric_{i}"), "W").unwrap()).collect();
    let mut roller = Roller::new(Calendar::new("Europe/Paris").unwrap(), MAX_HOLD_MS);
    let mut t = 1_782_000_000_000i64;
    b.counter(divan::counter::ItemsCount::new(BATCH)).bench_local(|| {
        let mut batch = Vec::with_capacity(BATCH);
        for step in 0..BATCH / ids.len() {
            for (k, id) in ids.iter().enumerate() {
                batch.push((*id, t, (step * 7 + k) as f64 * 0.5, halyard::store::Integrate::Power));
            }
            t += 10_000;
        }
        store.write_batch(black_box(&batch), &mut roller).unwrap();
    });
    let _ = std::fs::remove_dir_all(&dir);
}
