//! The wind over the simulated coast: one weather type a day (a mistral from the north-west, an
//! afternoon sea breeze from the south-west, a light easterly), a diurnal swell of its speed,
//! turbulence as two Ornstein–Uhlenbeck processes (speed and direction) and gusts — short bumps
//! of 20–60 % lasting 4–12 s, a few an hour.
//!
//! Deterministic: its own generator, so adding the wind changed none of the electrical days.

use super::rng::Rng;

/// A day's weather pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    /// North-westerly, strong all day.
    Mistral,
    /// South-westerly, light in the morning, fresh in the afternoon.
    SeaBreeze,
    /// Easterly, light.
    Easterly,
}

impl Pattern {
    /// Its name in the truth.
    pub fn name(self) -> &'static str {
        match self {
            Pattern::Mistral => "mistral",
            Pattern::SeaBreeze => "sea breeze",
            Pattern::Easterly => "easterly",
        }
    }
}

/// The wind generator.
#[derive(Debug, Clone)]
pub struct Weather {
    rng: Rng,
    day: i64,
    pattern: Pattern,
    base_direction: f64,
    base_kn: f64,
    speed_noise: f64,
    direction_noise: f64,
    /// A gust under way: (start ms, length ms, amplitude).
    gust: Option<(i64, i64, f64)>,
    last: Option<i64>,
}

/// The true wind at an instant: where it blows from (degrees true) and its speed (kn).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Wind {
    /// From, degrees true.
    pub direction: f64,
    /// Speed, kn.
    pub speed_kn: f64,
}

impl Weather {
    /// Seeded.
    pub fn new(seed: u64) -> Self {
        Weather {
            rng: Rng::new(seed ^ 0x5749_4E44),
            day: i64::MIN,
            pattern: Pattern::SeaBreeze,
            base_direction: 220.0,
            base_kn: 10.0,
            speed_noise: 0.0,
            direction_noise: 0.0,
            gust: None,
            last: None,
        }
    }

    /// The day's pattern.
    pub fn pattern(&self) -> Pattern {
        self.pattern
    }

    fn new_day(&mut self, day: i64) {
        self.day = day;
        let r = self.rng.next_f64();
        self.pattern = if r < 0.3 {
            Pattern::Mistral
        } else if r < 0.8 {
            Pattern::SeaBreeze
        } else {
            Pattern::Easterly
        };
        let (dir, kn) = match self.pattern {
            Pattern::Mistral => (315.0, 17.0 + 8.0 * self.rng.next_f64()),
            Pattern::SeaBreeze => (220.0, 10.0 + 5.0 * self.rng.next_f64()),
            Pattern::Easterly => (100.0, 6.0 + 4.0 * self.rng.next_f64()),
        };
        self.base_direction = dir + 20.0 * (self.rng.next_f64() - 0.5);
        self.base_kn = kn;
    }

    /// The wind at `at` (ms), on local day `day` at local hour `hour`; called with increasing
    /// times (the processes step by the time since the last call).
    pub fn at(&mut self, at: i64, day: i64, hour: f64) -> Wind {
        if day != self.day {
            self.new_day(day);
        }
        let dt = self.last.map_or(1.0, |l| ((at - l) as f64 / 1000.0).clamp(0.0, 600.0));
        self.last = Some(at);
        // Ornstein–Uhlenbeck: mean-reverting noise, time constants 30 s (speed) and 180 s.
        let ou = |x: f64, tau: f64, sigma: f64, n: f64| {
            let a = (-dt / tau).exp();
            x * a + sigma * (1.0 - a * a).sqrt() * n
        };
        let (n1, n2) = (self.rng.normal(), self.rng.normal());
        self.speed_noise = ou(self.speed_noise, 30.0, 0.10, n1);
        self.direction_noise = ou(self.direction_noise, 180.0, 7.0, n2);
        // Gusts: about four an hour.
        if self.gust.is_none_or(|(s, len, _)| at >= s + len) {
            self.gust = None;
            if self.rng.next_f64() < dt / 900.0 {
                let len = (4.0 + 8.0 * self.rng.next_f64()) * 1000.0;
                self.gust = Some((at, len as i64, 0.2 + 0.4 * self.rng.next_f64()));
            }
        }
        let bump = self
            .gust
            .map_or(0.0, |(s, len, amp)| amp * (std::f64::consts::PI * (at - s) as f64 / len as f64).sin().max(0.0));
        // The diurnal swell: weakest before dawn, strongest mid-afternoon; a sea breeze more so.
        let swell = (std::f64::consts::TAU * (hour - 9.0) / 24.0).sin();
        let diurnal = match self.pattern {
            Pattern::SeaBreeze => 0.65 + 0.35 * swell,
            _ => 0.85 + 0.15 * swell,
        };
        let speed = (self.base_kn * diurnal * (1.0 + self.speed_noise + bump)).max(0.5);
        Wind { direction: (self.base_direction + self.direction_noise).rem_euclid(360.0), speed_kn: speed }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn winds_stay_plausible_and_repeat() {
        let (mut a, mut b) = (Weather::new(3), Weather::new(3));
        let mut max: f64 = 0.0;
        for s in 0..86_400 {
            let (wa, wb) = (a.at(s * 1000, 0, s as f64 / 3600.0), b.at(s * 1000, 0, s as f64 / 3600.0));
            assert_eq!(wa, wb);
            assert!((0.0..360.0).contains(&wa.direction) && wa.speed_kn > 0.0);
            max = max.max(wa.speed_kn);
        }
        assert!(max < 60.0, "{max}");
    }
}
