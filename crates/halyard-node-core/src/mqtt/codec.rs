//! MQTT 3.1.1 packets (OASIS standard, 2014): the ones a publishing node needs, encoded into and
//! decoded from plain byte buffers. Nothing here touches a socket.

use alloc::string::String;
use alloc::vec::Vec;

/// A packet from the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// CONNACK: the session-present flag and the return code (0 accepted, §3.2.2.3).
    ConnAck {
        /// The broker kept our session.
        session_present: bool,
        /// 0 accepted; 1 protocol version, 2 identifier, 3 unavailable, 4 credentials, 5 not authorised.
        code: u8,
    },
    /// PUBLISH to one of our subscriptions.
    Publish(Message),
    /// PUBACK of one of our QoS 1 messages.
    PubAck(u16),
    /// SUBACK: the QoS granted to each filter (0x80: refused).
    SubAck {
        /// The SUBSCRIBE's packet id.
        id: u16,
        /// Granted QoS per filter.
        granted: Vec<u8>,
    },
    /// PINGRESP.
    PingResp,
}

/// A message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Topic.
    pub topic: String,
    /// Payload.
    pub payload: Vec<u8>,
    /// 0 or 1 (a node never asks for 2).
    pub qos: u8,
    /// Retained.
    pub retain: bool,
    /// Packet id (QoS 1).
    pub id: Option<u16>,
}

/// Why bytes are not a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// The remaining length runs past four bytes (§2.2.3).
    BadLength,
    /// A packet type a client never receives, or reserved flags set.
    Unexpected(u8),
    /// A topic that is not UTF-8, or a packet shorter than its fields.
    Malformed(u8),
}

/// The connection's parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect<'a> {
    /// Client identifier.
    pub client_id: &'a str,
    /// Keep-alive, s.
    pub keep_alive: u16,
    /// Start a clean session.
    pub clean_session: bool,
    /// Last will: topic, payload, QoS, retain.
    pub will: Option<(&'a str, &'a [u8], u8, bool)>,
    /// User name.
    pub username: Option<&'a str>,
    /// Password.
    pub password: Option<&'a [u8]>,
}

fn put_len(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let mut b = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            b |= 0x80;
        }
        out.push(b);
        if n == 0 {
            break;
        }
    }
}

fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s);
}

fn packet(out: &mut Vec<u8>, header: u8, body: &[u8]) {
    out.push(header);
    put_len(out, body.len());
    out.extend_from_slice(body);
}

/// CONNECT (§3.1).
pub fn connect(out: &mut Vec<u8>, c: &Connect<'_>) {
    let mut b = Vec::new();
    put_str(&mut b, b"MQTT");
    b.push(4); // protocol level 3.1.1
    let mut flags = 0u8;
    if c.clean_session {
        flags |= 0x02;
    }
    if let Some((_, _, qos, retain)) = c.will {
        flags |= 0x04 | (qos.min(1) << 3) | if retain { 0x20 } else { 0 };
    }
    if c.username.is_some() {
        flags |= 0x80;
    }
    if c.password.is_some() {
        flags |= 0x40;
    }
    b.push(flags);
    b.extend_from_slice(&c.keep_alive.to_be_bytes());
    put_str(&mut b, c.client_id.as_bytes());
    if let Some((topic, payload, _, _)) = c.will {
        put_str(&mut b, topic.as_bytes());
        put_str(&mut b, payload);
    }
    if let Some(u) = c.username {
        put_str(&mut b, u.as_bytes());
    }
    if let Some(p) = c.password {
        put_str(&mut b, p);
    }
    packet(out, 0x10, &b);
}

/// PUBLISH (§3.3); `id` is required for QoS 1.
pub fn publish(out: &mut Vec<u8>, topic: &str, payload: &[u8], qos: u8, retain: bool, dup: bool, id: u16) {
    let mut b = Vec::with_capacity(topic.len() + payload.len() + 4);
    put_str(&mut b, topic.as_bytes());
    if qos > 0 {
        b.extend_from_slice(&id.to_be_bytes());
    }
    b.extend_from_slice(payload);
    let header = 0x30 | if dup { 0x08 } else { 0 } | (qos.min(1) << 1) | u8::from(retain);
    packet(out, header, &b);
}

/// PUBACK (§3.4).
pub fn puback(out: &mut Vec<u8>, id: u16) {
    packet(out, 0x40, &id.to_be_bytes());
}

/// SUBSCRIBE (§3.8).
pub fn subscribe(out: &mut Vec<u8>, id: u16, filters: &[(&str, u8)]) {
    let mut b = Vec::new();
    b.extend_from_slice(&id.to_be_bytes());
    for (f, qos) in filters {
        put_str(&mut b, f.as_bytes());
        b.push(*qos);
    }
    packet(out, 0x82, &b);
}

/// PINGREQ (§3.12).
pub fn pingreq(out: &mut Vec<u8>) {
    out.extend_from_slice(&[0xC0, 0]);
}

/// DISCONNECT (§3.14): the broker then drops the will.
pub fn disconnect(out: &mut Vec<u8>) {
    out.extend_from_slice(&[0xE0, 0]);
}

/// The first packet in `buf`: `Ok(None)` when more bytes are needed, else the packet and how
/// many bytes it took.
pub fn decode(buf: &[u8]) -> Result<Option<(Incoming, usize)>, DecodeError> {
    let Some(&header) = buf.first() else { return Ok(None) };
    let (mut len, mut shift, mut i) = (0usize, 0, 1);
    loop {
        let Some(&b) = buf.get(i) else { return Ok(None) };
        len |= usize::from(b & 0x7F) << shift;
        i += 1;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
        if shift > 21 {
            return Err(DecodeError::BadLength);
        }
    }
    let Some(body) = buf.get(i..i + len) else { return Ok(None) };
    let kind = header >> 4;
    let malformed = DecodeError::Malformed(kind);
    let u16_at = |at: usize| -> Result<u16, DecodeError> {
        body.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]])).ok_or(malformed)
    };
    let packet = match kind {
        2 if body.len() == 2 => Incoming::ConnAck { session_present: body[0] & 1 == 1, code: body[1] },
        3 => {
            let qos = (header >> 1) & 3;
            let topic_len = usize::from(u16_at(0)?);
            let topic = body.get(2..2 + topic_len).ok_or(malformed)?;
            let topic = core::str::from_utf8(topic).map_err(|_| malformed)?;
            let mut at = 2 + topic_len;
            let id = if qos > 0 {
                at += 2;
                Some(u16_at(at - 2)?)
            } else {
                None
            };
            if qos > 2 || at > body.len() {
                return Err(malformed);
            }
            Incoming::Publish(Message {
                topic: topic.into(),
                payload: body[at..].to_vec(),
                qos,
                retain: header & 1 == 1,
                id,
            })
        }
        4 => Incoming::PubAck(u16_at(0)?),
        9 => Incoming::SubAck { id: u16_at(0)?, granted: body.get(2..).ok_or(malformed)?.to_vec() },
        13 => Incoming::PingResp,
        other => return Err(DecodeError::Unexpected(other)),
    };
    Ok(Some((packet, i + len)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The CONNECT of §3.1 with a will, as the standard lays the bytes out.
    #[test]
    fn connect_bytes() {
        let mut out = Vec::new();
        connect(
            &mut out,
            &Connect {
                client_id: "n1",
                keep_alive: 30,
                clean_session: true,
                will: Some(("h/status", b"offline", 1, true)),
                username: Some("u"),
                password: Some(b"p"),
            },
        );
        let expected: &[u8] = &[
            0x10,
            39,
            0,
            4,
            b'M',
            b'Q',
            b'T',
            b'T',
            4,
            0b1110_1110,
            0,
            30,
            0,
            2,
            b'n',
            b'1',
            0,
            8,
            b'h',
            b'/',
            b's',
            b't',
            b'a',
            b't',
            b'u',
            b's',
            0,
            7,
            b'o',
            b'f',
            b'f',
            b'l',
            b'i',
            b'n',
            b'e',
            0,
            1,
            b'u',
            0,
            1,
            b'p',
        ];
        assert_eq!(out, expected);
    }

    #[test]
    fn remaining_length_boundaries() {
        for (n, bytes) in [
            (0usize, &[0u8][..]),
            (127, &[0x7F]),
            (128, &[0x80, 1]),
            (16_383, &[0xFF, 0x7F]),
            (16_384, &[0x80, 0x80, 1]),
        ] {
            let mut out = Vec::new();
            put_len(&mut out, n);
            assert_eq!(out, bytes, "{n}");
        }
    }

    #[test]
    fn publish_round_trip_and_partial_input() {
        let mut out = Vec::new();
        publish(&mut out, "a/b", &[1; 200], 1, true, false, 7);
        for cut in 0..out.len() {
            assert_eq!(decode(&out[..cut]), Ok(None), "{cut} bytes are not a packet yet");
        }
        let (p, used) = decode(&out).unwrap().unwrap();
        assert_eq!(used, out.len());
        assert_eq!(
            p,
            Incoming::Publish(Message {
                topic: "a/b".into(),
                payload: [1; 200].to_vec(),
                qos: 1,
                retain: true,
                id: Some(7)
            })
        );
    }

    #[test]
    fn a_length_over_four_bytes_is_an_error() {
        assert_eq!(decode(&[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]), Err(DecodeError::BadLength));
    }
}
