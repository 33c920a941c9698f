//! Navigation answers from the store (DESIGN.md §5): the highest wind gust of a period, the
//! track (KML, GPX), where the boat spent its time, and when the GPS lost its fix. The
//! navigation state they read is recorded by the `nav` device (`ingest::nav`).

pub mod export;
pub mod stays;
pub mod text;

use anyhow::Result;
use serde_json::{json, Value as Json};

use crate::store::{Backend, Calendar};

/// The device the navigation state is recorded under.
pub const DEVICE: &str = "nav";
/// The gust's averaging window, ms.
pub const GUST_WINDOW_MS: i64 = 3_000;
/// Longer silences of a series are not a value that holds (as in the daily report).
const MAX_HOLD_MS: i64 = 15 * 60_000;

/// One recorded position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fix {
    /// When, ms.
    pub t: i64,
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
}

/// The track in `[from, to)`: latitude and longitude are recorded together, at the same time.
pub fn track(store: &mut dyn Backend, from: i64, to: i64) -> Result<Vec<Fix>> {
    let lat = store.samples(DEVICE, "latitude", from, to)?;
    let lon = store.samples(DEVICE, "longitude", from, to)?;
    let mut out = Vec::with_capacity(lat.len());
    let mut j = 0;
    for (t, la) in lat {
        while j < lon.len() && lon[j].0 < t {
            j += 1;
        }
        if let Some((t2, lo)) = lon.get(j) {
            if *t2 == t {
                out.push(Fix { t, lat: la, lon: *lo });
            }
        }
    }
    Ok(out)
}

/// The highest mean over any [`GUST_WINDOW_MS`] of a series whose samples hold until the next
/// one (the store keeps changes only), and when its window ended.
pub fn highest_window_mean(samples: &[(i64, f64)], window: i64) -> Option<(f64, i64)> {
    if samples.is_empty() {
        return None;
    }
    // The mean of the step function over (end − window, end].
    let mean = |end: i64| -> Option<f64> {
        let start = end - window;
        let mut i = samples.partition_point(|(t, _)| *t <= start).saturating_sub(1);
        let (mut sum, mut covered) = (0.0, 0i64);
        while i < samples.len() && samples[i].0 < end {
            let (t, v) = samples[i];
            let next = samples.get(i + 1).map_or(end, |n| n.0.min(end));
            let a = t.max(start);
            let b = next.min(t + MAX_HOLD_MS);
            if b > a {
                sum += v * (b - a) as f64;
                covered += b - a;
            }
            i += 1;
        }
        (covered == window).then(|| sum / window as f64)
    };
    // The mean of a step function over a sliding window is highest with an edge on a step.
    let mut best: Option<(f64, i64)> = None;
    for &(t, _) in samples {
        for end in [t + window, t] {
            if let Some(m) = mean(end) {
                if best.is_none_or(|(b, _)| m > b) {
                    best = Some((m, end));
                }
            }
        }
    }
    // A single reading (or none long enough): its value.
    best.or_else(|| samples.iter().map(|(t, v)| (*v, *t)).reduce(|a, b| if b.0 > a.0 { b } else { a }))
}

/// How much a counter grew from `from` on: the sum of its increases, a drop being a restart
/// from zero (the new value is all growth). Its last value before `from` is the starting point;
/// `None` when it has no sample at or after `from`.
pub fn increase(samples: &[(i64, f64)], from: i64) -> Option<f64> {
    let first = samples.partition_point(|(t, _)| *t < from);
    if first == samples.len() {
        return None;
    }
    let mut previous = if first > 0 { samples[first - 1].1 } else { samples[first].1 };
    let mut sum = 0.0;
    for (_, v) in &samples[first..] {
        sum += if *v >= previous { v - previous } else { *v };
        previous = *v;
    }
    Some(sum)
}

/// Fix-loss events ending in `[from, to)`: (start, end) in ms; an ongoing loss ends at `to`.
pub fn fix_losses(store: &mut dyn Backend, from: i64, to: i64) -> Result<Vec<(i64, i64)>> {
    let mut out: Vec<(i64, i64)> = store
        .samples(DEVICE, "fix_loss", from, to)?
        .into_iter()
        .map(|(t, s)| (t - (s * 1000.0).round() as i64, t))
        .collect();
    let fix = store.samples(DEVICE, "fix", from, to)?;
    if fix.last().is_some_and(|(_, v)| *v == 0.0) {
        let since = fix.iter().rposition(|(_, v)| *v != 0.0).map_or(fix[0].0, |i| fix[i + 1].0);
        out.push((since, to));
    }
    Ok(out)
}

/// The navigation answers for `[from, to)`, `None` when nothing navigational was recorded.
pub fn answers(store: &mut dyn Backend, from: i64, to: i64) -> Result<Option<Json>> {
    let time = crate::sinks::mqtt::rfc3339;
    let true_wind = store.samples(DEVICE, "true_wind_speed", from - MAX_HOLD_MS, to)?;
    let apparent = store.samples(DEVICE, "apparent_wind_speed", from, to)?;
    let track = track(store, from, to)?;
    let losses = fix_losses(store, from, to)?;
    if true_wind.is_empty() && apparent.is_empty() && track.is_empty() && losses.is_empty() {
        return Ok(None);
    }
    let in_range: Vec<(i64, f64)> = true_wind.iter().copied().filter(|(t, _)| *t >= from - GUST_WINDOW_MS).collect();
    let gust = highest_window_mean(&in_range, GUST_WINDOW_MS).filter(|(_, t)| *t >= from && *t <= to);
    let max_apparent = apparent.iter().copied().reduce(|a, b| if b.1 > a.1 { b } else { a });
    let odometer = store.samples(DEVICE, "distance_over_ground", from - 86_400_000, to)?;
    let distance_m = match increase(&odometer, from) {
        Some(d) => d,
        // Recorded before the odometer: along the stored track.
        None => track.windows(2).map(|w| crate::geo::distance_m((w[0].lat, w[0].lon), (w[1].lat, w[1].lon))).sum(),
    };
    // To the instruments' own resolution (0.01 kn); the text pages print 0.1.
    Ok(Some(json!({
        "max_gust_kn": gust.map(|(v, _)| crate::json::round(v, 2)),
        "max_gust_at": gust.map(|(_, t)| time(t)),
        "max_apparent_wind_kn": max_apparent.map(|(_, v)| crate::json::round(v, 2)),
        "max_apparent_wind_at": max_apparent.map(|(t, _)| time(t)),
        "distance_nm": crate::json::round(distance_m / 1852.0, 2),
        "track_points": track.len(),
        "fix_losses": losses.iter().map(|(a, b)| json!({"from": time(*a), "to": time(*b), "seconds": (b - a) / 1000})).collect::<Vec<_>>(),
    })))
}

/// `halyard nav`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Definitions:\n\
gust: the highest mean of the true wind speed over 3 seconds (the recorded values hold until the next one); \
also the highest apparent wind speed.\n\
stays: runs of the track within 200 m for at least 20 minutes, merged into places within 200 m of each other, \
ranked by total time.\n\
fix losses: from a position sentence without a fix (RMC/GLL status V, GGA quality 0), or a silence of position \
sentences over 10 s, to the next valid position.")]
pub struct Args {
    /// The configuration (store, time zone).
    #[arg(short, long, env = "HALYARD_CONFIG")]
    config: Option<std::path::PathBuf>,
    /// The day, YYYY-MM-DD (default: the last day with a recorded position or wind).
    #[arg(long)]
    date: Option<String>,
    /// How many places to list.
    #[arg(long, default_value_t = 5)]
    top: usize,
    /// One JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// The last time anything navigational was recorded.
fn last_recorded(store: &mut dyn Backend) -> Result<Option<i64>> {
    let mut last = None;
    for m in ["latitude", "true_wind_speed", "apparent_wind_speed", "fix"] {
        if let Some((t, _)) = store.rollups(crate::store::Resolution::Day, DEVICE, m, 0, i64::MAX)?.last() {
            let end = store.samples(DEVICE, m, *t, i64::MAX)?.last().map_or(*t, |(t, _)| *t);
            last = Some(last.map_or(end, |l: i64| l.max(end)));
        }
    }
    Ok(last)
}

/// Print the day's gusts (and the last hour's), the places of the whole store, the fix losses.
pub fn command(args: Args) -> Result<()> {
    let config = crate::config::Config::load_or_default(args.config.as_deref())?;
    let cal: Calendar = config.calendar()?;
    let mut store = crate::store::open(&config)?;
    let last = last_recorded(store.as_mut())?;
    let day_ms = match &args.date {
        Some(d) => crate::report::noon(d)?,
        None => last.ok_or_else(|| anyhow::anyhow!("no navigation data recorded (configure [[nmea]] sources)"))?,
    };
    let (start, end) = (cal.day_start(day_ms), cal.next_day(cal.day_start(day_ms)));
    let day = answers(store.as_mut(), start, end)?;
    let hour_end = last.unwrap_or(end).min(end);
    let hour = answers(store.as_mut(), hour_end - 3_600_000, hour_end)?;
    let all = track(store.as_mut(), 0, i64::MAX)?;
    let places = stays::places(&stays::stays(&all, stays::RADIUS_M, stays::MIN_STAY_MS), stays::RADIUS_M);
    let out = json!({
        "date": cal.date(start),
        "day": day,
        "last_hour": hour.map(|h| json!({"to": crate::sinks::mqtt::rfc3339(hour_end), "max_gust_kn": h["max_gust_kn"], "max_apparent_wind_kn": h["max_apparent_wind_kn"]})),
        "places": places.iter().take(args.top).map(stays::Place::to_json).collect::<Vec<_>>(),
    });
    if args.json {
        println!("{out}");
        return Ok(());
    }
    print!("{}", text::page(&out, &crate::text::Times::new(cal.timezone(), start)));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_counter_grows_across_a_restart() {
        let s = [(0, 100.0), (10, 150.0), (20, 30.0), (30, 80.0)];
        assert_eq!(increase(&s, 5), Some(50.0 + 30.0 + 50.0), "from 100: +50, restart at 30, +50");
        assert_eq!(increase(&s, 0), Some(130.0), "the first sample is the start");
        assert_eq!(increase(&s, 31), None);
    }

    #[test]
    fn gust_over_held_values() {
        // 10 kn, a reading a second but stored only on change: 25 kn at 100 s and 101 s.
        let samples = [(0, 10.0), (100_000, 25.0), (102_000, 10.0), (200_000, 10.0)];
        let (v, end) = highest_window_mean(&samples, 3_000).unwrap();
        // The best window holds 2 s of 25 and 1 s of 10.
        assert!((v - 20.0).abs() < 1e-9, "{v}");
        assert!((101_000..=103_000).contains(&end), "{end}");
        assert_eq!(highest_window_mean(&[(5, 7.0)], 3_000), Some((7.0, 3_005)), "a value holds");
        assert_eq!(highest_window_mean(&[], 3_000), None);
    }
}
