//! The stream framing (meshtastic/python stream_interface.py; marine.md §4.1): find `0x94 0xC3`,
//! read the length, take that many bytes. A length over 512 means the start bytes were part of
//! the log text: the framer goes back to looking for the next start, so a radio that reboots
//! mid-frame or prints `0x94` in its log never wedges it.

/// Largest protobuf a frame carries (`MAX_TO_FROM_RADIO_SIZE`).
pub const MAX_PAYLOAD: usize = 512;
/// Log lines longer than this are cut (the rest follows as another line).
const MAX_LOG_LINE: usize = 256;
const START1: u8 = 0x94;
const START2: u8 = 0xC3;

/// What the stream delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    /// A frame's protobuf.
    Frame(&'a [u8]),
    /// A line of the firmware's debug log (without its line ending).
    Log(&'a [u8]),
    /// A frame header announced more than [`MAX_PAYLOAD`] bytes: not a frame.
    BadLength(u16),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Text,
    Start2,
    LenHi,
    LenLo(u8),
    Payload(u16),
}

/// The stream's state machine.
#[derive(Debug, Clone)]
pub struct StreamFramer {
    state: State,
    payload: [u8; MAX_PAYLOAD],
    got: usize,
    line: [u8; MAX_LOG_LINE],
    line_len: usize,
}

impl Default for StreamFramer {
    fn default() -> Self {
        StreamFramer { state: State::Text, payload: [0; MAX_PAYLOAD], got: 0, line: [0; MAX_LOG_LINE], line_len: 0 }
    }
}

impl StreamFramer {
    /// A framer between frames.
    pub fn new() -> Self {
        Self::default()
    }

    fn text(&mut self, b: u8, on: &mut impl FnMut(Event<'_>)) {
        match b {
            b'\n' => {
                let mut n = self.line_len;
                if n > 0 && self.line[n - 1] == b'\r' {
                    n -= 1;
                }
                if n > 0 {
                    on(Event::Log(&self.line[..n]));
                }
                self.line_len = 0;
            }
            _ => {
                if self.line_len == MAX_LOG_LINE {
                    on(Event::Log(&self.line[..self.line_len]));
                    self.line_len = 0;
                }
                self.line[self.line_len] = b;
                self.line_len += 1;
            }
        }
    }

    /// Feed bytes; `on` gets every frame and log line.
    pub fn push_all(&mut self, bytes: &[u8], mut on: impl FnMut(Event<'_>)) {
        for &b in bytes {
            self.state = match self.state {
                State::Text if b == START1 => State::Start2,
                State::Text => {
                    self.text(b, &mut on);
                    State::Text
                }
                State::Start2 if b == START2 => State::LenHi,
                State::Start2 => {
                    // A lone 0x94 was text.
                    self.text(START1, &mut on);
                    if b == START1 {
                        State::Start2
                    } else {
                        self.text(b, &mut on);
                        State::Text
                    }
                }
                State::LenHi => State::LenLo(b),
                State::LenLo(hi) => {
                    let len = u16::from(hi) << 8 | u16::from(b);
                    if usize::from(len) > MAX_PAYLOAD {
                        on(Event::BadLength(len));
                        State::Text
                    } else if len == 0 {
                        on(Event::Frame(&[]));
                        State::Text
                    } else {
                        self.got = 0;
                        State::Payload(len)
                    }
                }
                State::Payload(len) => {
                    self.payload[self.got] = b;
                    self.got += 1;
                    if self.got == usize::from(len) {
                        on(Event::Frame(&self.payload[..self.got]));
                        State::Text
                    } else {
                        State::Payload(len)
                    }
                }
            };
        }
    }
}

/// Frame a protobuf for the radio into `out`; returns the frame's length, `None` when the
/// payload is over [`MAX_PAYLOAD`] or `out` is too small.
pub fn encode_frame(payload: &[u8], out: &mut [u8]) -> Option<usize> {
    let n = payload.len();
    if n > MAX_PAYLOAD || out.len() < n + 4 {
        return None;
    }
    out[..4].copy_from_slice(&[START1, START2, (n >> 8) as u8, n as u8]);
    out[4..4 + n].copy_from_slice(payload);
    Some(n + 4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    #[derive(Debug, PartialEq)]
    enum Owned {
        Frame(Vec<u8>),
        Log(Vec<u8>),
        Bad(u16),
    }

    fn run(bytes: &[u8], chunk: usize) -> Vec<Owned> {
        let mut f = StreamFramer::new();
        let mut out = Vec::new();
        for c in bytes.chunks(chunk.max(1)) {
            f.push_all(c, |e| {
                out.push(match e {
                    Event::Frame(p) => Owned::Frame(p.to_vec()),
                    Event::Log(l) => Owned::Log(l.to_vec()),
                    Event::BadLength(n) => Owned::Bad(n),
                })
            });
        }
        out
    }

    #[test]
    fn frames_between_log_lines_in_any_chunking() {
        let mut s = b"INFO  | boot\r\n".to_vec();
        let mut buf = [0u8; 16];
        let n = encode_frame(&[0x08, 0x01], &mut buf).unwrap();
        s.extend_from_slice(&buf[..n]);
        s.extend_from_slice(b"a \x94 in the log\n");
        // A header announcing 4,660 bytes is not a frame: back to text.
        s.extend_from_slice(&[0x94, 0xC3, 0x12, 0x34]);
        s.extend_from_slice(b"more\n");
        s.extend_from_slice(&buf[..n]);
        let want = [
            Owned::Log(b"INFO  | boot".to_vec()),
            Owned::Frame(vec![0x08, 0x01]),
            Owned::Log(b"a \x94 in the log".to_vec()),
            Owned::Bad(0x1234),
            Owned::Log(b"more".to_vec()),
            Owned::Frame(vec![0x08, 0x01]),
        ];
        for chunk in [1, 2, 3, 7, 1000] {
            assert_eq!(run(&s, chunk), want, "chunks of {chunk}");
        }
        assert_eq!(encode_frame(&[0; MAX_PAYLOAD + 1], &mut [0; 600]), None);
    }
}
