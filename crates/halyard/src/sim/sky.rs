//! The sky: where the sun is (the `sun` crate, a port of suncalc), how much light reaches the
//! ground under a clear sky (Haurwitz's model), and clouds.
//!
//! Clouds follow a seeded day type (clear, broken, overcast) with minute-scale variation, and
//! attenuate global irradiance by Kasten and Czeplak's relation `1 − 0.75·c^3.4`.

use super::rng::Rng;

/// The sun's position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sun {
    /// Degrees above the horizon.
    pub elevation: f64,
    /// Compass bearing, degrees clockwise from north.
    pub azimuth: f64,
}

/// The sun at `ms` since the epoch, seen from `lat`, `lon` (degrees).
pub fn sun(ms: i64, lat: f64, lon: f64) -> Sun {
    let p = sun::pos(ms, lat, lon);
    // The crate's azimuth is a compass bearing (from north, clockwise); the unit test pins it.
    Sun { elevation: p.altitude.to_degrees(), azimuth: p.azimuth.to_degrees().rem_euclid(360.0) }
}

/// Irradiance on the ground, W/m².
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Irradiance {
    /// Direct normal irradiance.
    pub direct_normal: f64,
    /// Diffuse horizontal irradiance.
    pub diffuse: f64,
}

/// Clear-sky global horizontal irradiance (Haurwitz 1945), split 85 % direct / 15 % diffuse.
pub fn clear_sky(sun: Sun) -> Irradiance {
    if sun.elevation <= 0.0 {
        return Irradiance { direct_normal: 0.0, diffuse: 0.0 };
    }
    let cos_z = sun.elevation.to_radians().sin();
    let ghi = 1098.0 * cos_z * (-0.057 / cos_z).exp();
    Irradiance { direct_normal: 0.85 * ghi / cos_z.max(0.05), diffuse: 0.15 * ghi }
}

/// The weather of one day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DayType {
    /// Cloud cover around 5 %.
    Clear,
    /// Broken clouds, around 45 %.
    Broken,
    /// Overcast, around 90 %.
    Overcast,
    /// No sun on the panels all day (covers on, snow): an edge case for the daily answers.
    Covered,
}

impl DayType {
    fn mean_cover(self) -> f64 {
        match self {
            DayType::Clear => 0.05,
            DayType::Broken => 0.45,
            DayType::Overcast => 0.9,
            DayType::Covered => 1.0,
        }
    }

    /// Its name in the ground truth.
    pub fn name(self) -> &'static str {
        match self {
            DayType::Clear => "clear",
            DayType::Broken => "broken",
            DayType::Overcast => "overcast",
            DayType::Covered => "covered",
        }
    }
}

/// Cloud cover over time: AR(1) around the day's mean, one step per minute.
#[derive(Debug, Clone)]
pub struct Clouds {
    day: DayType,
    cover: f64,
    minute: i64,
}

impl Clouds {
    /// Start a day.
    pub fn new(day: DayType) -> Self {
        Clouds { day, cover: day.mean_cover(), minute: i64::MIN }
    }

    /// The day type.
    pub fn day(&self) -> DayType {
        self.day
    }

    /// Cover (0–1) at `ms`, advancing the process once per minute.
    pub fn cover(&mut self, ms: i64, rng: &mut Rng) -> f64 {
        let minute = ms.div_euclid(60_000);
        if minute != self.minute {
            self.minute = minute;
            let mean = self.day.mean_cover();
            let noise = (rng.next_f64() - 0.5) * 0.5;
            self.cover = (mean + 0.9 * (self.cover - mean) + noise * 0.3).clamp(0.0, 1.0);
        }
        self.cover
    }
}

/// Clear-sky irradiance under `cover`: the beam is cut by the cover, the global by Kasten and
/// Czeplak, and what is left of the global is diffuse.
pub fn under_clouds(clear: Irradiance, sun: Sun, cover: f64) -> Irradiance {
    if sun.elevation <= 0.0 {
        return clear;
    }
    let sin_h = sun.elevation.to_radians().sin();
    let global = (clear.direct_normal * sin_h + clear.diffuse) * (1.0 - 0.75 * cover.powf(3.4));
    let direct_normal = clear.direct_normal * (1.0 - cover);
    let diffuse = (global - direct_normal * sin_h).max(0.0);
    Irradiance { direct_normal, diffuse }
}

/// Irradiance on a panel tilted `tilt` degrees facing `azimuth` (beam plus isotropic diffuse).
pub fn on_panel(i: Irradiance, sun: Sun, tilt: f64, azimuth: f64) -> f64 {
    if sun.elevation <= 0.0 {
        return 0.0;
    }
    let (h, b) = (sun.elevation.to_radians(), tilt.to_radians());
    let cos_incidence = h.sin() * b.cos() + h.cos() * b.sin() * (sun.azimuth - azimuth).to_radians().cos();
    i.direct_normal * cos_incidence.max(0.0) + i.diffuse * (1.0 + b.cos()) / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sun_at_solar_noon_in_the_mediterranean() {
        // 2026-06-21 12:00 local solar time at 43.3 N 5.4 E ≈ 11:38 UTC: high, due south.
        let s = sun(1_782_041_880_000, 43.3, 5.4);
        assert!((s.elevation - 70.1).abs() < 1.0, "{s:?}");
        assert!((s.azimuth - 180.0).abs() < 5.0, "{s:?}");
        // Morning sun in the east, evening sun in the west.
        assert!((45.0..135.0).contains(&sun(1_782_041_880_000 - 5 * 3_600_000, 43.3, 5.4).azimuth));
        assert!((225.0..315.0).contains(&sun(1_782_041_880_000 + 5 * 3_600_000, 43.3, 5.4).azimuth));
        let night = sun(1_782_000_000_000, 43.3, 5.4);
        assert!(night.elevation < 0.0);
        let clear = clear_sky(s);
        let ghi = clear.direct_normal * s.elevation.to_radians().sin() + clear.diffuse;
        assert!((900.0..1100.0).contains(&ghi), "{ghi}");
    }
}
