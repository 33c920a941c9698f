//! A 12 V LiFePO4 house bank: state of charge by coulomb counting, open-circuit voltage from
//! a table, terminal voltage `OCV + I·R`, heat `I²·R`.

/// Open-circuit voltage of a 4-cell LiFePO4 bank by state of charge (a typical cell curve ×4;
/// steep at both ends, so a charger at its absorption voltage tapers to nothing when full).
const OCV: [(f64, f64); 9] = [
    (0.0, 12.0),
    (0.05, 12.8),
    (0.1, 12.95),
    (0.2, 13.1),
    (0.5, 13.22),
    (0.9, 13.34),
    (0.98, 13.42),
    (0.995, 13.6),
    (1.0, 14.4),
];

/// The bank.
#[derive(Debug, Clone)]
pub struct Battery {
    /// Capacity, Ah.
    pub capacity_ah: f64,
    /// State of charge, 0–1.
    pub soc: f64,
    /// Internal resistance, Ω.
    pub resistance: f64,
    /// Temperature, °C.
    pub temperature: f64,
}

impl Battery {
    /// Open-circuit voltage now.
    pub fn ocv(&self) -> f64 {
        let s = self.soc.clamp(0.0, 1.0);
        for w in OCV.windows(2) {
            let ((s0, v0), (s1, v1)) = (w[0], w[1]);
            if s <= s1 {
                return v0 + (v1 - v0) * (s - s0) / (s1 - s0);
            }
        }
        OCV[OCV.len() - 1].1
    }

    /// Terminal voltage with current `amps` flowing in (positive charges).
    pub fn voltage(&self, amps: f64) -> f64 {
        self.ocv() + amps * self.resistance
    }

    /// The current that would hold the terminals at `volts`.
    pub fn current_at(&self, volts: f64) -> f64 {
        (volts - self.ocv()) / self.resistance
    }

    /// Let `amps` flow for `seconds`; returns (energy stored in the cells, heat), Wh.
    pub fn step(&mut self, amps: f64, seconds: f64) -> (f64, f64) {
        let hours = seconds / 3600.0;
        let ocv = self.ocv();
        let ah = amps * hours;
        // A full bank takes no more charge, an empty one gives no more.
        let room = if ah > 0.0 { (1.0 - self.soc) * self.capacity_ah } else { self.soc * self.capacity_ah };
        let ah = ah.signum() * ah.abs().min(room);
        self.soc = (self.soc + ah / self.capacity_ah).clamp(0.0, 1.0);
        (ocv * ah, amps * amps * self.resistance * hours)
    }
}
