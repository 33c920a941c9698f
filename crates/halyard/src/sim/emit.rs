//! What the simulated devices put on the wire, encoded by the same `halyard-proto` encoders the
//! tests check against published vectors: Instant Readout adverts (AES-CTR with each device's
//! key), VE.Smart networking broadcasts (AES-CCM with the network key), VE.Direct text blocks
//! with their checksum, and MasterBus value requests and replies as a MasterView polling a
//! MasterShunt produces them.

use halyard_proto::can::Received;
use halyard_proto::masterbus::{self, Node};
use halyard_proto::victron::instant_readout;
use halyard_proto::victron::smart_networking::{encode_data, encode_overflow, Serial};

use super::boat::{Boat, Link, Sample, Stage, ABSORPTION_V, FLOAT_V};
use crate::ingest::recording::Record;

/// A SmartShunt reporting over Bluetooth (the house bank's, and the dump load's meter).
#[derive(Debug, Clone, Copy)]
pub struct Shunt {
    /// Address.
    pub mac: [u8; 6],
    /// Key.
    pub key: [u8; 16],
}

/// The MasterShunt on the MasterBus: type 0x1B, instance 3, address 0x1297 (device 0x31297,
/// as in the public captures).
pub const MASTERSHUNT: Node = Node::from_identity(0x1B, 0x1297, 3);

/// Items the MasterView polls: state of charge, voltage, current, consumed Ah, temperature.
const SHUNT_ITEMS: [u16; 5] = [0x0000, 0x0001, 0x0002, 0x0003, 0x0005];

/// The Mass Combi inverter/charger: type 0x0E, instance 2, address 0xF412 (device 0x2F412, as
/// in the public captures).
pub const MASS_COMBI: Node = Node::from_identity(0x0E, 0xF412, 2);

/// Items the MasterView polls on the combi: battery V and A, AC output V and A, state.
const COMBI_ITEMS: [u16; 5] = [0x0006, 0x0007, 0x000A, 0x000B, 0x0010];

/// The combi's AC output voltage while inverting.
pub const AC_VOLTS: f64 = 230.0;

/// The combi's true item values for a sample (the test checks decoding against these).
pub fn combi_value(s: &Sample, item: u16) -> f64 {
    let inverting = s.inverter_ac_watts > 0.0;
    let dc_amps = if inverting { -(s.inverter_ac_watts / 0.9 + 8.0) / s.battery_volts } else { 0.0 };
    match item {
        0x0006 => s.battery_volts,
        0x0007 => dc_amps,
        0x000A => {
            if inverting {
                AC_VOLTS
            } else {
                0.0
            }
        }
        0x000B => s.inverter_ac_watts / AC_VOLTS,
        _ => {
            if inverting {
                3.0
            } else {
                1.0
            }
        }
    }
}

/// The shunt's true item values for a sample.
pub fn shunt_value(s: &Sample, item: u16) -> f64 {
    match item {
        0x0000 => s.soc * 100.0,
        0x0001 => s.battery_volts,
        0x0002 => s.battery_amps,
        0x0003 => s.consumed_ah,
        _ => s.battery_temperature,
    }
}

/// The serial's 4 bytes for a Victron serial `HQyywwXXXXX` (victron.md §3.4, inverted: `c0 c1`
/// from `s / 36⁵`, the last five characters the base-36 digits of `s`).
pub fn serial_bytes(serial: &str) -> Serial {
    let b = serial.as_bytes();
    let c0 = u32::from(b[0] - b'G');
    let c1 = u32::from(b[1] - b'A');
    let digits = serial[6..].chars().fold(0u32, |acc, c| acc * 36 + c.to_digit(36).unwrap_or(0));
    Serial(((c0 * 26 + c1) * 60_466_176 + digits).to_le_bytes())
}

/// Little-endian bit packing for Instant Readout payloads.
fn put_bits(buf: &mut [u8], offset: usize, width: usize, value: u64) {
    for i in 0..width {
        let bit = offset + i;
        if value >> i & 1 == 1 {
            buf[bit / 8] |= 1 << (bit % 8);
        } else {
            buf[bit / 8] &= !(1 << (bit % 8));
        }
    }
}

fn scaled(v: f64, step: f64) -> i64 {
    (v / step).round() as i64
}

/// The port the VE.Direct charger's bytes come in on.
pub const VEDIRECT_PORT: &str = "ttyVE0";

/// The encoders' state: nonces, sequence numbers, the network's overflow counter.
#[derive(Debug)]
pub struct Emitter {
    /// VE.Smart network key and id.
    pub network: Option<([u8; 16], [u8; 2])>,
    /// The SmartShunt.
    pub shunt: Shunt,
    /// A second SmartShunt in energy-meter mode on the dump load (a water heater fed with the
    /// surplus once the bank floats).
    pub dump_meter: Option<Shunt>,
    nonce: u16,
    sequence: u32,
    overflow_sent_at: Option<i64>,
    day_sequence: u32,
}

impl Emitter {
    /// With a network and a shunt.
    pub fn new(network: Option<([u8; 16], [u8; 2])>, shunt: Shunt) -> Self {
        Emitter { network, shunt, dump_meter: None, nonce: 0, sequence: 0, overflow_sent_at: None, day_sequence: 0 }
    }

    fn advert(&mut self, key: &[u8; 16], model_id: u16, record_type: u8, payload: &[u8]) -> Vec<u8> {
        self.nonce = self.nonce.wrapping_add(1);
        let mut out = [0u8; 32];
        let n = instant_readout::encode(&mut out, key, model_id, record_type, self.nonce, payload).expect("fits");
        out[..n].to_vec()
    }

    /// Everything the devices send for one sample.
    pub fn emit(&mut self, boat: &Boat, s: &Sample, out: &mut Vec<Record>) {
        let at = s.at;
        let overflow = [0x03, 0x00];
        let send_overflow = self.overflow_sent_at.is_none_or(|t| at - t >= 60_000);
        if send_overflow {
            self.overflow_sent_at = Some(at);
        }
        for (i, c) in boat.chargers.iter().enumerate() {
            match c.link {
                Link::Bluetooth { networked } => {
                    let mut p = [0u8; 12];
                    put_bits(&mut p, 0, 8, u64::from(c.state_code(s.stage)));
                    put_bits(&mut p, 8, 8, u64::from(c.error));
                    put_bits(&mut p, 16, 16, scaled(s.battery_volts, 0.01) as u16 as u64);
                    put_bits(&mut p, 32, 16, scaled(s.out_amps[i], 0.1) as u16 as u64);
                    put_bits(&mut p, 48, 16, scaled(s.yield_today_wh[i] / 1000.0, 0.01) as u64);
                    put_bits(&mut p, 64, 16, s.pv_watts[i].round() as u64);
                    put_bits(&mut p, 80, 9, 0x1FF);
                    put_bits(&mut p, 89, 7, 0x7F);
                    let data = self.advert(&c.key, c.product_id, 0x01, &p);
                    out.push(Record::Ble { at, mac: c.mac, data });
                    if let (true, Some((key, id))) = (networked, self.network) {
                        let serial = serial_bytes(c.serial);
                        if send_overflow {
                            let seq = self.next_sequence();
                            let m = encode_overflow(&key, id, serial, seq, overflow);
                            out.push(Record::Ble { at, mac: c.mac, data: m.to_vec() });
                        }
                        // Panel power (0xEDBC, 0.01 W) and charger voltage (0xEDD5, 0.01 V).
                        let mut clear = vec![0x0F];
                        clear.extend_from_slice(&0xEDBCu16.to_le_bytes());
                        clear.push(4);
                        clear.extend_from_slice(&(scaled(s.pv_watts[i], 0.01) as u32).to_le_bytes());
                        clear.extend_from_slice(&0xEDD5u16.to_le_bytes());
                        clear.push(2);
                        clear.extend_from_slice(&(scaled(s.battery_volts, 0.01) as u16).to_le_bytes());
                        self.data(at, c.mac, key, id, serial, overflow, &clear, out);
                        if i == 0 {
                            // The master broadcasts the network's total PV power and its state.
                            let total: f64 = boat
                                .chargers
                                .iter()
                                .zip(&s.pv_watts)
                                .filter(|(c, _)| c.link == Link::Bluetooth { networked: true })
                                .map(|(_, p)| p)
                                .sum();
                            let mut clear = vec![0x0F];
                            clear.extend_from_slice(&0x2027u16.to_le_bytes());
                            clear.push(4);
                            clear.extend_from_slice(&(scaled(total, 0.01) as u32).to_le_bytes());
                            clear.extend_from_slice(&0x200Cu16.to_le_bytes());
                            clear.push(1);
                            clear.push(s.stage.code());
                            // And the voltage it has the network charge to (VE_REG_LINK_VSET,
                            // victron.md §3.3), while charging.
                            let target = match s.stage {
                                Stage::Off => None,
                                Stage::Bulk | Stage::Absorption => Some(ABSORPTION_V),
                                Stage::Float => Some(FLOAT_V),
                            };
                            self.data(at, c.mac, key, id, serial, overflow, &clear, out);
                            if let Some(v) = target {
                                let mut clear = vec![0x0F];
                                clear.extend_from_slice(&0x2001u16.to_le_bytes());
                                clear.push(2);
                                clear.extend_from_slice(&(scaled(v, 0.01) as u16).to_le_bytes());
                                self.data(at, c.mac, key, id, serial, overflow, &clear, out);
                            }
                        }
                    }
                }
                Link::VeDirect => {
                    let v = (s.battery_volts * 1000.0).round().to_string();
                    let ia = (s.out_amps[i] * 1000.0).round().to_string();
                    let producing = s.pv_watts[i] > 0.5;
                    let vpv = if producing { "36400".to_owned() } else { "10".to_owned() };
                    let ppv = s.pv_watts[i].round().to_string();
                    let cs = c.state_code(s.stage).to_string();
                    let err = c.error.to_string();
                    let mppt = if producing { "2" } else { "0" };
                    let h20 = scaled(s.yield_today_wh[i] / 1000.0, 0.01).to_string();
                    let h21 = s.max_power_today[i].round().to_string();
                    let hsds = (self.day_sequence % 365).to_string();
                    let pid = format!("0x{:04X}", c.product_id);
                    let fields = [
                        ("PID", pid.as_str()),
                        ("FW", "161"),
                        ("SER#", c.serial),
                        ("V", v.as_str()),
                        ("I", ia.as_str()),
                        ("VPV", vpv.as_str()),
                        ("PPV", ppv.as_str()),
                        ("CS", cs.as_str()),
                        ("MPPT", mppt),
                        ("OR", "0x00000000"),
                        ("ERR", err.as_str()),
                        ("H20", h20.as_str()),
                        ("H21", h21.as_str()),
                        ("HSDS", hsds.as_str()),
                    ];
                    let mut buf = [0u8; 512];
                    let n = halyard_proto::vedirect::text::encode_block(&fields, &mut buf).expect("fits");
                    out.push(Record::VeDirect { at, port: VEDIRECT_PORT.into(), bytes: buf[..n].to_vec() });
                }
            }
        }
        self.shunt_advert(s, out);
        self.dump_meter_advert(s, out);
        self.masterbus(s, out);
    }

    /// Record 0x0D, DC energy meter (victron.md §2): monitor mode 8 (water heater), the bank's
    /// voltage and the heater's current; aux input off.
    fn dump_meter_advert(&mut self, s: &Sample, out: &mut Vec<Record>) {
        let Some(meter) = self.dump_meter else { return };
        let mut p = [0u8; 11];
        put_bits(&mut p, 0, 16, 8);
        put_bits(&mut p, 16, 16, scaled(s.battery_volts, 0.01) as u16 as u64);
        put_bits(&mut p, 32, 16, 0);
        put_bits(&mut p, 48, 16, 0);
        put_bits(&mut p, 64, 2, 3);
        put_bits(&mut p, 66, 22, (scaled(s.dump_watts / s.battery_volts, 0.001) as u64) & 0x3F_FFFF);
        let data = self.advert(&meter.key, 0xA389, 0x0D, &p);
        out.push(Record::Ble { at: s.at, mac: meter.mac, data });
    }

    #[allow(clippy::too_many_arguments)]
    fn data(
        &mut self,
        at: i64,
        mac: [u8; 6],
        key: [u8; 16],
        id: [u8; 2],
        serial: Serial,
        overflow: [u8; 2],
        clear: &[u8],
        out: &mut Vec<Record>,
    ) {
        let seq = self.next_sequence();
        let mut buf = [0u8; 64];
        if let Some(n) = encode_data(&mut buf, &key, id, serial, seq, overflow, clear) {
            out.push(Record::Ble { at, mac, data: buf[..n].to_vec() });
        }
    }

    fn next_sequence(&mut self) -> [u8; 4] {
        self.sequence = self.sequence.wrapping_add(1);
        self.sequence.to_le_bytes()
    }

    /// A new local day (VE.Direct's day sequence number).
    pub fn new_day(&mut self) {
        self.day_sequence += 1;
    }

    fn shunt_advert(&mut self, s: &Sample, out: &mut Vec<Record>) {
        let mut p = [0u8; 15];
        let ttg =
            if s.battery_amps < -0.1 { (s.soc * 400.0 / -s.battery_amps * 60.0).min(65_534.0) as u64 } else { 0xFFFF };
        put_bits(&mut p, 0, 16, ttg);
        put_bits(&mut p, 16, 16, scaled(s.battery_volts, 0.01) as u16 as u64);
        put_bits(&mut p, 32, 16, 0);
        put_bits(&mut p, 48, 16, 0);
        put_bits(&mut p, 64, 2, 3); // aux input disabled
        put_bits(&mut p, 66, 22, (scaled(s.battery_amps, 0.001) as u64) & 0x3F_FFFF);
        put_bits(&mut p, 88, 20, scaled(s.consumed_ah, 0.1) as u64);
        put_bits(&mut p, 108, 10, scaled(s.soc * 100.0, 0.1) as u64);
        let (mac, key) = (self.shunt.mac, self.shunt.key);
        let data = self.advert(&key, 0xA389, 0x02, &p);
        out.push(Record::Ble { at: s.at, mac, data });
    }

    fn masterbus(&mut self, s: &Sample, out: &mut Vec<Record>) {
        let polls = SHUNT_ITEMS.iter().map(|i| (MASTERSHUNT, *i, shunt_value(s, *i)));
        let polls = polls.chain(COMBI_ITEMS.iter().map(|i| (MASS_COMBI, *i, combi_value(s, *i))));
        for (k, (node, item, value)) in polls.enumerate() {
            let ts_ns = (s.at as u64) * 1_000_000 + (k as u64) * 4_000_000;
            let req = masterbus::frame(node.id(0x18, false), &item.to_le_bytes()).expect("fits");
            let mut data = [0u8; 6];
            data[..2].copy_from_slice(&item.to_le_bytes());
            data[2..].copy_from_slice(&(value as f32).to_le_bytes());
            let rep = masterbus::frame(node.id(0x08, false), &data).expect("fits");
            out.push(Record::Can { ts_ns, source: "can0".into(), received: Received::Frame(req) });
            out.push(Record::Can { ts_ns: ts_ns + 1_500_000, source: "can0".into(), received: Received::Frame(rep) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_bytes_invert_the_published_examples() {
        // victron.md §3.4: ec 25 9a 99 → HQyywwMAEI4.
        assert_eq!(serial_bytes("HQ1840MAEI4").0, [0xec, 0x25, 0x9a, 0x99]);
        assert_eq!(serial_bytes("HQ2232PORT1").to_text().as_str(), "HQyywwPORT1");
    }
}
