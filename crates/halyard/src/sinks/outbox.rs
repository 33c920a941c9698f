//! The bounded on-disk outbox: every message waits here until its receiver acknowledges it (the
//! MQTT broker, or InfluxDB answering a write), so an outage (or a restart of Halyard) loses
//! nothing (DESIGN.md §6). Each sink has its own journal, `<name>-outbox.journal`; InfluxDB's
//! messages are batches of line protocol (the topic is unused there).
//!
//! The journal is an append-only file of records `len u32 LE ‖ crc32 u32 LE ‖ body`, where body
//! is either a message (`1 ‖ seq u64 ‖ retain u8 ‖ qos u8 ‖ topic_len u16 ‖ topic ‖ payload`) or
//! an acknowledgement (`2 ‖ seq u64`). Opening replays it and stops at the first torn or corrupt
//! record (a power cut mid-write). When nothing is pending the file is truncated; when it grows
//! past four times the bound it is rewritten with only what is pending.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// One message to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Topic.
    pub topic: String,
    /// Payload.
    pub payload: Vec<u8>,
    /// Retained.
    pub retain: bool,
    /// QoS 0, 1 or 2.
    pub qos: u8,
}

impl Message {
    fn size(&self) -> u64 {
        (self.topic.len() + self.payload.len() + 16) as u64
    }
}

/// The outbox.
#[derive(Debug)]
pub struct Outbox {
    /// Whose outbox, for the logs (`MQTT`, `InfluxDB`).
    name: &'static str,
    path: PathBuf,
    journal: Option<BufWriter<File>>,
    journal_bytes: u64,
    pending: BTreeMap<u64, Message>,
    pending_bytes: u64,
    /// Every pending message below this sequence number has been sent on this connection.
    cursor: u64,
    /// Sent and not yet acknowledged.
    in_flight: usize,
    max_bytes: u64,
    next_seq: u64,
    /// Messages dropped because the bound was reached.
    pub dropped: u64,
    /// Journal write errors (disk full …): messages stay in memory.
    pub write_errors: u64,
}

/// CRC-32 (IEEE 802.3), bitwise: the journal is small and this is not the hot path.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for b in bytes {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

fn encode_message(seq: u64, m: &Message) -> Vec<u8> {
    let mut body = Vec::with_capacity(13 + m.topic.len() + m.payload.len());
    body.push(1);
    body.extend_from_slice(&seq.to_le_bytes());
    body.push(u8::from(m.retain));
    body.push(m.qos);
    body.extend_from_slice(&(m.topic.len() as u16).to_le_bytes());
    body.extend_from_slice(m.topic.as_bytes());
    body.extend_from_slice(&m.payload);
    body
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 8);
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32(body).to_le_bytes());
    out.extend_from_slice(body);
    out
}

enum JournalRecord {
    Message(u64, Message),
    Ack(u64),
}

fn decode(body: &[u8]) -> Option<JournalRecord> {
    match body.first()? {
        1 if body.len() >= 13 => {
            let seq = u64::from_le_bytes(body[1..9].try_into().ok()?);
            let retain = body[9] != 0;
            let qos = body[10];
            let tlen = usize::from(u16::from_le_bytes([body[11], body[12]]));
            let topic = std::str::from_utf8(body.get(13..13 + tlen)?).ok()?.to_owned();
            let payload = body[13 + tlen..].to_vec();
            Some(JournalRecord::Message(seq, Message { topic, payload, retain, qos }))
        }
        2 if body.len() == 9 => Some(JournalRecord::Ack(u64::from_le_bytes(body[1..9].try_into().ok()?))),
        _ => None,
    }
}

impl Outbox {
    /// Open (or create) the outbox of sink `name` (`mqtt`, `influx`) in `dir`, holding at most
    /// `max_bytes` of messages.
    pub fn open(dir: &Path, name: &'static str, max_bytes: u64) -> io::Result<Outbox> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(format!("{name}-outbox.journal"));
        let name = if name == "mqtt" {
            "MQTT"
        } else if name == "influx" {
            "InfluxDB"
        } else {
            name
        };
        let mut pending = BTreeMap::new();
        let mut next_seq = 0;
        let mut good_len = 0u64;
        if let Ok(mut f) = File::open(&path) {
            let mut bytes = Vec::new();
            f.read_to_end(&mut bytes)?;
            let mut at = 0usize;
            while at + 8 <= bytes.len() {
                let len = u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes")) as usize;
                let crc = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().expect("4 bytes"));
                let Some(body) = bytes.get(at + 8..at + 8 + len) else { break };
                if crc32(body) != crc {
                    break;
                }
                match decode(body) {
                    Some(JournalRecord::Message(seq, m)) => {
                        next_seq = next_seq.max(seq + 1);
                        pending.insert(seq, m);
                    }
                    Some(JournalRecord::Ack(seq)) => {
                        pending.remove(&seq);
                    }
                    None => break,
                }
                at += 8 + len;
            }
            good_len = at as u64;
            if good_len < bytes.len() as u64 {
                tracing::warn!(
                    "{name} outbox {}: {} bytes after the last complete record (interrupted write) discarded",
                    path.display(),
                    bytes.len() as u64 - good_len
                );
            }
        }
        let file = OpenOptions::new().create(true).truncate(false).write(true).open(&path)?;
        if file.try_lock().is_err() {
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                format!("another Halyard process is using {}; give each its own data_dir", path.display()),
            ));
        }
        file.set_len(good_len)?;
        let mut writer = BufWriter::new(file);
        use std::io::Seek;
        writer.seek(io::SeekFrom::End(0))?;
        let pending_bytes = pending.values().map(Message::size).sum();
        let mut outbox = Outbox {
            name,
            path,
            journal: Some(writer),
            journal_bytes: good_len,
            pending,
            pending_bytes,
            cursor: 0,
            in_flight: 0,
            max_bytes,
            next_seq,
            dropped: 0,
            write_errors: 0,
        };
        if !outbox.pending.is_empty() {
            tracing::info!("{name} outbox: {} messages from before the restart will be sent", outbox.pending.len());
        }
        outbox.compact()?;
        Ok(outbox)
    }

    fn append(&mut self, body: &[u8]) {
        let framed = frame(body);
        let Some(j) = &mut self.journal else { return };
        match j.write_all(&framed) {
            Ok(()) => self.journal_bytes += framed.len() as u64,
            Err(e) => {
                self.write_errors += 1;
                if self.write_errors == 1 || self.write_errors.is_power_of_two() {
                    tracing::error!(
                        "{} outbox {}: {e}; messages are kept in memory only ({} write errors)",
                        self.name,
                        self.path.display(),
                        self.write_errors
                    );
                }
            }
        }
    }

    /// Queue a message; returns its sequence number.
    pub fn push(&mut self, message: Message) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        let size = message.size();
        if message.qos > 0 {
            let body = encode_message(seq, &message);
            self.append(&body);
        }
        self.pending_bytes += size;
        self.pending.insert(seq, message);
        while self.pending_bytes > self.max_bytes && self.pending.len() > 1 {
            let (&oldest, _) = self.pending.iter().next().expect("not empty");
            self.remove(oldest);
            self.dropped += 1;
            if self.dropped == 1 || self.dropped.is_power_of_two() {
                tracing::warn!(
                    "{} outbox full ({} bytes): dropped {} oldest messages so far",
                    self.name,
                    self.max_bytes,
                    self.dropped
                );
            }
        }
        seq
    }

    fn remove(&mut self, seq: u64) -> bool {
        match self.pending.remove(&seq) {
            Some(m) => {
                self.pending_bytes -= m.size();
                if seq < self.cursor {
                    self.in_flight -= 1;
                }
                if m.qos > 0 {
                    let mut body = vec![2];
                    body.extend_from_slice(&seq.to_le_bytes());
                    self.append(&body);
                }
                true
            }
            None => false,
        }
    }

    /// The broker acknowledged `seq` (or it was QoS 0 and has been written to the socket).
    pub fn ack(&mut self, seq: u64) -> bool {
        self.remove(seq)
    }

    /// The oldest message not yet sent on this connection; marks it sent.
    pub fn next_unsent(&mut self) -> Option<(u64, Message)> {
        let (&seq, m) = self.pending.range(self.cursor..).next()?;
        self.cursor = seq + 1;
        self.in_flight += 1;
        Some((seq, m.clone()))
    }

    /// A new connection: everything not acknowledged is sent again, oldest first.
    pub fn rewind(&mut self) {
        self.cursor = 0;
        self.in_flight = 0;
    }

    /// Messages waiting for an acknowledgement.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Messages sent and not yet acknowledged.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Write the journal through to the disk, and shrink it when possible.
    pub fn sync(&mut self) -> io::Result<()> {
        if let Some(j) = &mut self.journal {
            if let Err(e) = j.flush().and_then(|()| j.get_ref().sync_data()) {
                self.write_errors += 1;
                return Err(e);
            }
        }
        self.compact()
    }

    fn compact(&mut self) -> io::Result<()> {
        if self.pending.is_empty() && self.journal_bytes > 0 {
            if let Some(j) = &mut self.journal {
                j.flush()?;
                j.get_ref().set_len(0)?;
                use std::io::Seek;
                j.seek(io::SeekFrom::Start(0))?;
                self.journal_bytes = 0;
            }
        } else if self.journal_bytes > 4 * self.max_bytes.max(1 << 20) {
            let tmp = self.path.with_extension("journal.tmp");
            let mut w = BufWriter::new(File::create(&tmp)?);
            let mut bytes = 0;
            for (seq, m) in &self.pending {
                if m.qos > 0 {
                    let framed = frame(&encode_message(*seq, m));
                    w.write_all(&framed)?;
                    bytes += framed.len() as u64;
                }
            }
            w.flush()?;
            w.get_ref().sync_data()?;
            std::fs::rename(&tmp, &self.path)?;
            let mut file = OpenOptions::new().write(true).open(&self.path)?;
            let _ = file.try_lock();
            use std::io::Seek;
            file.seek(io::SeekFrom::End(0))?;
            self.journal = Some(BufWriter::new(file));
            self.journal_bytes = bytes;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(i: usize) -> Message {
        Message { topic: format!("t/{i}"), payload: format!("{i}").into_bytes(), retain: false, qos: 1 }
    }

    #[test]
    fn unacknowledged_messages_survive_a_restart() {
        let dir = std::env::temp_dir().join(format!("halyard-outbox-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        {
            let mut o = Outbox::open(&dir, "mqtt", 1 << 20).unwrap();
            for i in 0..10 {
                o.push(msg(i));
            }
            for _ in 0..4 {
                let (seq, _) = o.next_unsent().unwrap();
                o.ack(seq);
            }
            o.sync().unwrap();
        }
        // A torn write at the end is ignored.
        let path = dir.join("mqtt-outbox.journal");
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[40, 0, 0, 0, 1, 2]).unwrap();
        drop(f);
        let mut o = Outbox::open(&dir, "mqtt", 1 << 20).unwrap();
        assert_eq!(o.len(), 6);
        let (_, first) = o.next_unsent().unwrap();
        assert_eq!(first, msg(4));
        // New messages continue after the old sequence numbers.
        let seq = o.push(msg(99));
        assert_eq!(seq, 10);
        o.rewind();
        while let Some((seq, _)) = o.next_unsent() {
            o.ack(seq);
        }
        o.ack(0); // acknowledging an unknown sequence is harmless
        o.sync().unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0, "an empty outbox truncates its journal");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_bound_drops_the_oldest_and_counts() {
        let dir = std::env::temp_dir().join(format!("halyard-outbox-bound-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut o = Outbox::open(&dir, "mqtt", 200).unwrap();
        for i in 0..20 {
            o.push(msg(i));
        }
        assert!(o.dropped > 0);
        assert!(o.pending_bytes <= 200);
        let (_, first) = o.next_unsent().unwrap();
        assert_eq!(first, msg(o.dropped as usize));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn rewind_resends_in_order() {
        let dir = std::env::temp_dir().join(format!("halyard-outbox-rewind-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut o = Outbox::open(&dir, "mqtt", 1 << 20).unwrap();
        for i in 0..3 {
            o.push(msg(i));
        }
        let (a, _) = o.next_unsent().unwrap();
        let _ = o.next_unsent().unwrap();
        o.ack(a);
        o.rewind();
        assert_eq!(o.next_unsent().unwrap().1, msg(1));
        assert_eq!(o.in_flight(), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn crc_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }
}
