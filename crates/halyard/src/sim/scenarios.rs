//! The named scenarios of `halyard sim --scenario` (issue 20): an ordinary stretch aboard, and
//! the four troubles alarms exist for. Each writes, beside its recording, the alarms Halyard
//! must raise (`alarms.json`), worked out from the simulated world — the bank's true state of
//! charge, the boat's true position, when a device really fell silent or really was in fault —
//! never from what Halyard decodes, so that importing the recording and asking
//! `halyard alarms --json` checks the whole chain.
//!
//! | scenario        | what happens                                                             |
//! |-----------------|--------------------------------------------------------------------------|
//! | `normal`        | nothing: the default rules raise no alarm                               |
//! | `flat-battery`  | a fridge left on through six grey November days, then sun, fridge off   |
//! | `anchor-drag`   | the GPS blind for 6 min, then the anchor lets go at 02:40 and drags     |
//! | `silent-device` | the bimini MPPT's VE.Direct cable works loose from 11:00 to 13:00       |
//! | `charger-fault` | the starboard MPPT overheats (error 17) from 13:00 to 13:40             |
//! | `failing-mppt`  | ten clear days; from the eighth the starboard arch gives 40 % less      |

use anyhow::{bail, Result};
use serde_json::{json, Value};

use super::{voyage, Scenario};
use crate::alarms::{anchor, engine};
use crate::sinks::mqtt::rfc3339;

/// What goes wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Trouble {
    /// Nothing: an ordinary stretch aboard, which must raise no alarm.
    #[default]
    Normal,
    /// A fridge left on through an overcast week: the house bank runs down below 20 %, then the
    /// sun comes back and the fridge is switched off.
    FlatBattery,
    /// At anchor off the Frioul islands, the watch set at 21:00; the GPS loses its fix from 23:30
    /// to 23:36; at 02:40 the anchor lets go and ploughs downwind for 12 minutes; the crew
    /// acknowledges at 02:50 and raises it at 03:05.
    AnchorDrag,
    /// The bimini MPPT's VE.Direct cable works loose from 11:00 to 13:00.
    SilentDevice,
    /// The starboard-arch MPPT overheats from 13:00 to 13:40 (error 17, charger temperature too
    /// high) and stops charging.
    ChargerFault,
    /// Ten clear days; from the eighth the starboard arch's output is down 40 % (a panel string
    /// failing), which the daily report sees against the arch's own history.
    FailingMppt,
}

/// The fridge left on, W (a 12 V compressor fridge with its door ajar runs flat out).
const FRIDGE_LEFT_ON_W: f64 = 55.0;
/// The day (from 0) the starboard arch starts failing, and how much it still gives.
const FAILING_FROM_DAY: u32 = 7;
const FAILING_HEALTH: f64 = 0.6;
/// The rode the crew lets out at the Frioul, m.
const RODE_M: f64 = 30.0;
/// Dragging speed, m/s (half a knot: a CQR ploughing through weed).
const DRAG_MPS: f64 = 0.26;

/// A device that falls silent: a charger (index in [`super::chargers`]) sends nothing in
/// `[from, to)` ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Silence {
    /// Which charger.
    pub charger: usize,
    /// From, ms.
    pub from: i64,
    /// To, ms.
    pub to: i64,
}

/// A charger in fault: it reports error `code` and charges nothing in `[from, to)` ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    /// Which charger.
    pub charger: usize,
    /// Victron charger error code (VE.Direct `ERR`, Instant Readout's charger error).
    pub code: u8,
    /// From, ms.
    pub from: i64,
    /// To, ms.
    pub to: i64,
}

/// Something the crew says to Halyard over MQTT at a time (recorded as an `mqtt` record, as if
/// from the dashboard or `halyard anchor`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Said {
    /// When, ms.
    pub at: i64,
    /// Topic (under the default root `halyard`).
    pub topic: String,
    /// Payload.
    pub payload: String,
}

/// An alarm the scenario must raise, with the window the rules allow.
#[derive(Debug, Clone, PartialEq)]
pub struct Expected {
    /// The alarm's name.
    pub name: String,
    /// Its device.
    pub device: String,
    /// Raised no earlier than this (the event itself), ms.
    pub raised_at: i64,
    /// And no later than this (the rule's own delay: fixes, reports), ms.
    pub raised_by: i64,
    /// Acknowledged at (by the crew in the scenario), ms.
    pub acknowledged_at: Option<i64>,
    /// Cleared no earlier than this; `None`: still active at the end.
    pub cleared_at: Option<i64>,
    /// And no later than this.
    pub cleared_by: Option<i64>,
    /// Why, in words.
    pub why: String,
}

impl Expected {
    /// As `alarms.json` writes it.
    pub fn to_json(&self) -> Value {
        let t = |ms: Option<i64>| ms.map(rfc3339);
        json!({
            "name": self.name,
            "device": self.device,
            "raised_at": rfc3339(self.raised_at),
            "raised_by": rfc3339(self.raised_by),
            "acknowledged_at": t(self.acknowledged_at),
            "cleared_at": t(self.cleared_at),
            "cleared_by": t(self.cleared_by),
            "why": self.why,
        })
    }
}

/// The local time `hour` on day `day` of the scenario (0: its first day), ms.
pub fn local_ms(scn: &Scenario, day: u32, hour: f64) -> Result<i64> {
    let tz = jiff::tz::TimeZone::get(scn.timezone)?;
    let date = jiff::civil::date(1970, 1, 1).checked_add(jiff::Span::new().days(scn.first_day + i64::from(day)))?;
    let midnight = date.to_zoned_datetime(tz)?.start_of_day()?.timestamp().as_millisecond();
    Ok(midnight + (hour * 3_600_000.0).round() as i64)
}

/// The first night from `first_day` (days since 1970) the boat spends at anchor (the next day
/// starts at an anchorage, not a berth): its day index, and the place.
fn night_at_anchor(first_day: i64) -> (u32, voyage::Place) {
    (0..7)
        .map(|d| (d, voyage::plan(first_day + i64::from(d) + 1).start))
        .find(|(_, p)| !p.moored)
        .expect("the week's cruise anchors at least once")
}

impl Trouble {
    /// The first day the scenario starts on when none is given: the demo's week (its first
    /// night at anchor off the Frioul), or for a flat battery a grey week of November, when
    /// the sun no longer makes up for a fridge left on.
    pub fn first_day(self) -> &'static str {
        match self {
            Trouble::Normal => "2026-06-21",
            Trouble::FlatBattery => "2026-11-16",
            _ => "2026-06-22",
        }
    }

    /// Days the scenario needs at least.
    pub fn days(self) -> u32 {
        match self {
            Trouble::Normal | Trouble::SilentDevice | Trouble::ChargerFault => 1,
            Trouble::FailingMppt => FAILING_FROM_DAY + 3,
            Trouble::FlatBattery => 8,
            // The night at anchor may come later in the week than the first day.
            Trouble::AnchorDrag => 2,
        }
    }

    /// Set `scn` up for the trouble (its days, place and nav already chosen).
    pub fn apply(self, scn: &mut Scenario) -> Result<()> {
        match self {
            Trouble::Normal => {}
            Trouble::FlatBattery => {
                let days = scn.days.max(self.days());
                scn.days = days;
                // Six grey days with the fridge flat out, then the sun and a crew that noticed.
                for d in 0..days.min(6) {
                    scn.forced.push((d, super::sky::DayType::Overcast));
                    scn.extra_loads.push((d, FRIDGE_LEFT_ON_W));
                }
                for d in 6..days {
                    scn.forced.push((d, super::sky::DayType::Clear));
                }
            }
            Trouble::AnchorDrag => {
                if scn.nav.is_none() {
                    bail!("the anchor-drag scenario needs the navigation instruments (a --nav-period above 0)");
                }
                let (night, place) = night_at_anchor(scn.first_day);
                scn.days = scn.days.max(night + 2);
                let radius = anchor::radius_from_rode(RODE_M, Some(place.depth_m));
                let drop = json!({"action": "drop", "latitude": place.lat, "longitude": place.lon, "rode": RODE_M});
                // Before midnight the GPS loses its fix for six minutes (the watch is blind).
                scn.blackouts.push((local_ms(scn, night, 23.5)?, local_ms(scn, night, 23.6)?));
                let from = local_ms(scn, night + 1, 2.0 + 40.0 / 60.0)?;
                scn.drag =
                    Some(voyage::Drag { from, to: from + 12 * 60_000, speed_mps: DRAG_MPS, watch_radius_m: radius });
                scn.said.push(Said {
                    at: local_ms(scn, night, 21.0)?,
                    topic: "halyard/anchor/set".into(),
                    payload: drop.to_string(),
                });
                scn.said.push(Said {
                    at: local_ms(scn, night + 1, 2.0 + 50.0 / 60.0)?,
                    topic: format!("halyard/alarm/{}/ack", anchor::ALARM),
                    payload: String::new(),
                });
                scn.said.push(Said {
                    at: local_ms(scn, night + 1, 3.0 + 5.0 / 60.0)?,
                    topic: "halyard/anchor/set".into(),
                    payload: "up".into(),
                });
            }
            Trouble::SilentDevice => {
                let bimini = charger("bimini");
                scn.silences.push(Silence {
                    charger: bimini,
                    from: local_ms(scn, 0, 11.0)?,
                    to: local_ms(scn, 0, 13.0)?,
                });
            }
            Trouble::FailingMppt => {
                scn.days = scn.days.max(self.days());
                scn.forced = (0..scn.days).map(|d| (d, super::sky::DayType::Clear)).collect();
                scn.health.push(super::Health {
                    charger: charger("stbd-arch"),
                    from_day: FAILING_FROM_DAY,
                    factor: FAILING_HEALTH,
                    per_day: 0.0,
                });
            }
            Trouble::ChargerFault => {
                scn.faults.push(Fault {
                    charger: charger("stbd-arch"),
                    code: 17,
                    from: local_ms(scn, 0, 13.0)?,
                    to: local_ms(scn, 0, 13.0 + 40.0 / 60.0)?,
                });
            }
        }
        Ok(())
    }
}

fn charger(name: &str) -> usize {
    super::chargers().iter().position(|c| c.name == name).expect("a charger of the simulated boat")
}

/// Works out the expected alarms while the scenario runs.
#[derive(Debug, Default)]
pub struct Referee {
    expected: Vec<Expected>,
    /// The battery monitors, each with its open low state-of-charge alarm.
    low: Vec<Monitor>,
    /// Per silence: the device's last report before it, and the open alarm.
    silent: Vec<(Option<i64>, Option<usize>)>,
    /// Per fault: the open alarm.
    faulted: Vec<Option<usize>>,
    /// Seconds between reports (the window the rules may take to notice).
    period_ms: i64,
}

/// A battery monitor reporting the bank's state of charge.
#[derive(Debug, Clone, Copy)]
struct Monitor {
    device: &'static str,
    /// Its reports' step, % (0: exact).
    resolution: f64,
    /// Its low state-of-charge alarm while open (index in `expected`).
    open: Option<usize>,
}

/// The battery monitors of the simulated boat: the SmartShunt (Instant Readout's state of
/// charge is 10 bits of 0.1 %) and the MasterShunt (MasterBus sends a float), on the same bank.
const BATTERY_MONITORS: [(&str, f64); 2] = [("house-bank", 0.1), ("house-shunt", 0.0)];

impl Referee {
    /// For `scn`.
    pub fn new(scn: &Scenario) -> Self {
        Referee {
            low: BATTERY_MONITORS
                .iter()
                .map(|&(device, resolution)| Monitor { device, resolution, open: None })
                .collect(),
            silent: vec![(None, None); scn.silences.len()],
            faulted: vec![None; scn.faults.len()],
            period_ms: i64::from(scn.period_s.max(scn.history_period_s).max(1)) * 1000,
            expected: Vec::new(),
        }
    }

    /// The bank's true state of charge (0–1) reported at `at`. A monitor reporting in steps of
    /// `resolution` rounds: it says "below 20 %" somewhere between the true value crossing 20
    /// and crossing 20 − resolution/2, and "30 %" from 30 − resolution/2 on; the windows are
    /// those, and a report later.
    pub fn state_of_charge(&mut self, at: i64, soc: f64) {
        let percent = soc * 100.0;
        let (low, clear) = (engine::LOW_STATE_OF_CHARGE, engine::LOW_STATE_OF_CHARGE + engine::SOC_HYSTERESIS);
        let late = self.period_ms;
        for m in &mut self.low {
            let half = m.resolution / 2.0;
            match m.open {
                None if percent < low => {
                    m.open = Some(self.expected.len());
                    self.expected.push(Expected {
                        name: format!("{}-low-soc", m.device),
                        device: m.device.into(),
                        raised_at: at,
                        raised_by: i64::MAX,
                        acknowledged_at: None,
                        cleared_at: None,
                        cleared_by: None,
                        why: format!("the bank's true state of charge fell below {low} %"),
                    });
                }
                _ => {}
            }
            let Some(i) = m.open else { continue };
            let e = &mut self.expected[i];
            if e.raised_by == i64::MAX && percent < low - half {
                e.raised_by = at + late;
            }
            if e.cleared_at.is_none() && percent >= clear - half {
                e.cleared_at = Some(at);
            }
            if e.cleared_at.is_some() && percent >= clear {
                e.cleared_by = Some(at + late);
                e.why.push_str(&format!(", and came back to {clear} %"));
                m.open = None;
            }
        }
    }

    /// Whether charger `c` is silent at `at` (its records are then not sent); called once per
    /// step and charger, in time order.
    pub fn silence(&mut self, scn: &Scenario, c: usize, at: i64) -> bool {
        let mut quiet = false;
        for (i, s) in scn.silences.iter().enumerate().filter(|(_, s)| s.charger == c) {
            let (last, open) = &mut self.silent[i];
            if at >= s.from && at < s.to {
                quiet = true;
                let silent_after = engine::SILENT_AFTER_MS;
                if let (Some(last), None) = (*last, *open) {
                    if at - last >= silent_after {
                        let device = super::chargers()[c].name;
                        *open = Some(self.expected.len());
                        self.expected.push(Expected {
                            name: engine::silent_name(device),
                            device: device.into(),
                            raised_at: last + silent_after,
                            raised_by: last + silent_after + self.period_ms,
                            acknowledged_at: None,
                            cleared_at: None,
                            cleared_by: None,
                            why: format!("{device} sent nothing from {}", rfc3339(s.from)),
                        });
                    }
                }
            } else if at < s.from {
                *last = Some(at);
            } else if let Some(i) = open.take() {
                let e = &mut self.expected[i];
                e.cleared_at = Some(at);
                e.cleared_by = Some(at);
                e.why.push_str(&format!(" to {}", rfc3339(s.to)));
            }
        }
        quiet
    }

    /// The error code charger `c` reports at `at` (0: none).
    pub fn fault(&mut self, scn: &Scenario, c: usize, at: i64) -> u8 {
        let mut code = 0;
        for (i, f) in scn.faults.iter().enumerate().filter(|(_, f)| f.charger == c) {
            let open = &mut self.faulted[i];
            if at >= f.from && at < f.to {
                code = f.code;
                if open.is_none() {
                    let device = super::chargers()[c].name;
                    *open = Some(self.expected.len());
                    self.expected.push(Expected {
                        name: format!("{device}-charger_error"),
                        device: device.into(),
                        raised_at: at,
                        raised_by: at,
                        acknowledged_at: None,
                        cleared_at: None,
                        cleared_by: None,
                        why: format!("{device} reported charger error {}", f.code),
                    });
                }
            } else if let Some(i) = open.take() {
                self.expected[i].cleared_at = Some(at);
                self.expected[i].cleared_by = Some(at);
            }
        }
        code
    }

    /// The anchor watch, once the run is over: a blind watch in each GPS blackout while the
    /// anchor was down; the drag — when the boat left the circle, and what the crew said after.
    pub fn anchor(&mut self, scn: &Scenario, dragged_out: Option<i64>) {
        let at = |payload: fn(&str) -> bool| {
            scn.said.iter().filter(move |s| s.topic.ends_with("/anchor/set") && payload(&s.payload)).map(|s| s.at)
        };
        let drops: Vec<i64> = at(|p| p.contains("drop")).collect();
        let ups: Vec<i64> = at(|p| p == "up").collect();
        let down = |t: i64| drops.iter().any(|d| *d <= t && !ups.iter().any(|u| *u > *d && *u <= t));
        for &(from, to) in scn.blackouts.iter().filter(|(from, _)| down(*from)) {
            // The watch's last fix came up to a minute before the fix was lost (the track hands
            // it one a minute at anchor); the first fix after ends it.
            self.expected.push(Expected {
                name: anchor::BLIND.into(),
                device: "nav".into(),
                raised_at: from + anchor::FIX_LOST_AFTER_MS - 60_000,
                raised_by: from + anchor::FIX_LOST_AFTER_MS + self.period_ms,
                acknowledged_at: None,
                cleared_at: Some(to),
                cleared_by: Some(to + 60_000),
                why: format!("the GPS had no fix from {} to {}", rfc3339(from), rfc3339(to)),
            });
        }
        self.drag(scn, dragged_out);
    }

    fn drag(&mut self, scn: &Scenario, dragged_out: Option<i64>) {
        let (Some(drag), Some(out)) = (scn.drag, dragged_out) else { return };
        let said = |topic: &str, payload: Option<&str>| {
            scn.said
                .iter()
                .find(|s| s.at > out && s.topic.ends_with(topic) && payload.is_none_or(|p| s.payload == p))
                .map(|s| s.at)
        };
        let up = said("/anchor/set", Some("up"));
        self.expected.push(Expected {
            name: anchor::ALARM.into(),
            device: "nav".into(),
            raised_at: out,
            // Three fixes outside, and the track keeps a fix per 10 m moved or per minute.
            raised_by: out + 3 * 60_000,
            acknowledged_at: said(&format!("/alarm/{}/ack", anchor::ALARM), None),
            cleared_at: up,
            cleared_by: up,
            why: format!(
                "the anchor let go at {} and the boat left the {:.0} m circle",
                rfc3339(drag.from),
                drag.watch_radius_m
            ),
        });
    }

    /// A charger whose output steps down by more than the report's 20 % margin: underperforming
    /// in the report of that first day, made when the next begins (on clear days, whose
    /// brightness matches the history's), and still at the end.
    pub fn failing(&mut self, scn: &Scenario) -> anyhow::Result<()> {
        let limit = crate::report::performance::UNDERPERFORMING_PERCENT / 100.0;
        for h in scn.health.iter().filter(|h| h.factor < limit && h.per_day == 0.0 && h.from_day + 1 < scn.days) {
            let device = super::chargers()[h.charger].name;
            let next_midnight = local_ms(scn, h.from_day + 1, 0.0)?;
            self.expected.push(Expected {
                name: format!("{device}-underperforming"),
                device: device.into(),
                raised_at: next_midnight,
                raised_by: next_midnight + 10 * 60_000,
                acknowledged_at: None,
                cleared_at: None,
                cleared_by: None,
                why: format!("{device} gives {:.0} % of its output from day {}", h.factor * 100.0, h.from_day + 1),
            });
        }
        Ok(())
    }

    /// The expected alarms, in order of raising.
    pub fn finish(mut self) -> Vec<Expected> {
        for e in &mut self.expected {
            // A crossing the run ended before confirming: any time after it will do.
            if e.raised_by == i64::MAX {
                e.raised_by = e.raised_at + 86_400_000;
            }
        }
        self.expected.sort_by(|a, b| (a.raised_at, &a.name).cmp(&(b.raised_at, &b.name)));
        self.expected
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_week_anchors_on_its_first_night() {
        let first = super::super::parse_date(Trouble::AnchorDrag.first_day()).unwrap();
        let (night, place) = night_at_anchor(first);
        assert_eq!((night, place.name), (0, "Port Frioul"));
    }

    #[test]
    fn a_silence_is_expected_ten_minutes_after_the_last_report_and_cleared_when_it_returns() {
        let mut scn = Scenario { period_s: 60, ..Default::default() };
        scn.silences.push(Silence { charger: 2, from: 600_000, to: 3_600_000 });
        let mut r = Referee::new(&scn);
        let quiet: Vec<bool> = (0..=70).map(|m| r.silence(&scn, 2, m * 60_000)).collect();
        assert!(!quiet[9] && quiet[10] && quiet[59] && !quiet[60]);
        let e = r.finish();
        assert_eq!(e.len(), 1);
        assert_eq!((e[0].name.as_str(), e[0].raised_at), ("bimini-silent", 540_000 + 600_000));
        assert_eq!(e[0].cleared_at, Some(3_600_000));
    }

    #[test]
    fn low_state_of_charge_has_hysteresis() {
        let scn = Scenario::default();
        let mut r = Referee::new(&scn);
        for (t, soc) in [(0, 0.25), (1, 0.1999), (2, 0.15), (3, 0.25), (4, 0.19), (5, 0.2996), (6, 0.30)] {
            r.state_of_charge(t, soc);
        }
        let e = r.finish();
        assert_eq!(e.len(), 2, "both monitors, once: {e:?}");
        let period = 10_000;
        // The SmartShunt's 0.1 % steps: 19.99 may still read 20.0, 29.96 already reads 30.0.
        let bank = e.iter().find(|e| e.device == "house-bank").unwrap();
        assert_eq!((bank.raised_at, bank.raised_by), (1, 2 + period));
        assert_eq!((bank.cleared_at, bank.cleared_by), (Some(5), Some(6 + period)));
        let shunt = e.iter().find(|e| e.device == "house-shunt").unwrap();
        assert_eq!((shunt.raised_at, shunt.raised_by), (1, 1 + period));
        assert_eq!((shunt.cleared_at, shunt.cleared_by), (Some(6), Some(6 + period)));
    }
}
