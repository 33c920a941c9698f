//! Finding the broker by DNS-SD over multicast DNS (RFC 6762, RFC 6763): one query for
//! `_mqtt._tcp.local` PTR sent from an ephemeral port to 224.0.0.251:5353 — a "one-shot" query,
//! which responders answer by unicast to that port (RFC 6762 §5.1, §6.7) — and the answer's PTR →
//! SRV (port, target) → A (address) records, which responders put in the additional section.

use alloc::string::String;
use alloc::vec::Vec;

/// The service Halyard's gateway advertises its broker as.
pub const SERVICE: &str = "_mqtt._tcp.local";

/// A broker found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Instance name (`halyard on boat-pi`).
    pub instance: String,
    /// IPv4 address.
    pub address: [u8; 4],
    /// TCP port.
    pub port: u16,
}

fn put_name(out: &mut Vec<u8>, name: &str) {
    for label in name.split('.').filter(|l| !l.is_empty()) {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
}

/// The query: id `id`, one question `_mqtt._tcp.local PTR IN` (unicast-response bit set).
pub fn query(id: u16) -> Vec<u8> {
    let mut q = Vec::with_capacity(40);
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    put_name(&mut q, SERVICE);
    q.extend_from_slice(&[0, 12, 0x80, 1]); // PTR, QU + IN
    q
}

/// A name at `at` (with compression pointers), lower-cased, and the offset after it.
fn name(msg: &[u8], mut at: usize) -> Option<(String, usize)> {
    let mut out = String::new();
    let mut end = None;
    for _ in 0..64 {
        let len = *msg.get(at)?;
        match len {
            0 => {
                return Some((out, end.unwrap_or(at + 1)));
            }
            l if l & 0xC0 == 0xC0 => {
                let target = usize::from(l & 0x3F) << 8 | usize::from(*msg.get(at + 1)?);
                end.get_or_insert(at + 2);
                at = target;
            }
            l => {
                let label = msg.get(at + 1..at + 1 + usize::from(l))?;
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(&String::from_utf8_lossy(label).to_lowercase());
                at += 1 + usize::from(l);
            }
        }
    }
    None
}

struct Record {
    name: String,
    kind: u16,
    data_at: usize,
    data_len: usize,
}

/// The brokers in a response (any section). Malformed input gives what could be read.
pub fn parse(msg: &[u8]) -> Vec<Found> {
    let mut records = Vec::new();
    let count = |i: usize| msg.get(i..i + 2).map_or(0, |b| usize::from(u16::from_be_bytes([b[0], b[1]])));
    if msg.len() < 12 || msg[2] & 0x80 == 0 {
        return Vec::new(); // not a response
    }
    let mut at = 12;
    for _ in 0..count(4) {
        let Some((_, next)) = name(msg, at) else { return Vec::new() };
        at = next + 4;
    }
    for _ in 0..count(6) + count(8) + count(10) {
        let Some((n, next)) = name(msg, at) else { break };
        let Some(h) = msg.get(next..next + 10) else { break };
        let kind = u16::from_be_bytes([h[0], h[1]]);
        let data_len = usize::from(u16::from_be_bytes([h[8], h[9]]));
        if next + 10 + data_len > msg.len() {
            break;
        }
        records.push(Record { name: n, kind, data_at: next + 10, data_len });
        at = next + 10 + data_len;
    }
    let mut out = Vec::new();
    for ptr in records.iter().filter(|r| r.kind == 12 && r.name == SERVICE) {
        let Some((instance, _)) = name(msg, ptr.data_at) else { continue };
        let Some(srv) = records.iter().find(|r| r.kind == 33 && r.name == instance) else { continue };
        let Some(port) = msg.get(srv.data_at + 4..srv.data_at + 6).map(|b| u16::from_be_bytes([b[0], b[1]])) else {
            continue;
        };
        let Some((target, _)) = name(msg, srv.data_at + 6) else { continue };
        let Some(a) = records.iter().find(|r| r.kind == 1 && r.name == target && r.data_len == 4) else { continue };
        let Some(&[a0, a1, a2, a3]) = msg.get(a.data_at..a.data_at + 4) else { continue };
        let address = [a0, a1, a2, a3];
        let label = instance.strip_suffix(&alloc::format!(".{SERVICE}")).unwrap_or(&instance);
        out.push(Found { instance: label.into(), address, port });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_bytes() {
        let q = query(0);
        assert_eq!(&q[..12], &[0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&q[12..], b"\x05_mqtt\x04_tcp\x05local\x00\x00\x0c\x80\x01");
    }

    /// A responder's answer laid out as RFC 6763 §12 describes (PTR in answers, SRV and A in
    /// additionals), with compression pointers as responders write them.
    #[test]
    fn ptr_srv_a_with_compression() {
        let mut m = vec![0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 2];
        let service_at = m.len();
        put_name(&mut m, SERVICE);
        m.extend_from_slice(&[0, 12, 0, 1, 0, 0, 0x11, 0x94]);
        let instance = b"\x07halyard";
        m.extend_from_slice(&((instance.len() + 2) as u16).to_be_bytes());
        let instance_at = m.len();
        m.extend_from_slice(instance);
        m.extend_from_slice(&[0xC0, service_at as u8]);
        // SRV: name = pointer to the instance; priority, weight, port 1883, target boat.local.
        m.extend_from_slice(&[0xC0, instance_at as u8, 0, 33, 0x80, 1, 0, 0, 0, 120]);
        let target = b"\x04boat\x05local\x00";
        m.extend_from_slice(&((6 + target.len()) as u16).to_be_bytes());
        m.extend_from_slice(&[0, 0, 0, 0, 0x07, 0x5B]);
        let target_at = m.len();
        m.extend_from_slice(target);
        m.extend_from_slice(&[0xC0, target_at as u8, 0, 1, 0x80, 1, 0, 0, 0, 120, 0, 4, 192, 168, 1, 20]);
        assert_eq!(parse(&m), [Found { instance: "halyard".into(), address: [192, 168, 1, 20], port: 1883 }]);
        for cut in 0..m.len() {
            assert!(parse(&m[..cut]).is_empty(), "a cut answer gives nothing: {cut}");
        }
        let mut looped = m.clone();
        looped[instance_at + instance.len() + 1] = instance_at as u8 - 2; // a pointer loop
        let _ = parse(&looped);
    }
}
