//! Lines and frames: `$` or `!`, a tag (talker + type, or `P` + maker), comma fields, `*` and
//! two hex digits of XOR checksum over everything between the start and the `*` (marine.md §2.1).

use core::fmt;

/// Lines longer than this are dropped as garbage. The standard's limit is 82 bytes with CR LF;
/// real instruments exceed it (gofree-merrimac.log, VLW sentences over 102 bytes).
pub const MAX_LINE: usize = 256;

/// Whether a sentence carried its checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checksum {
    /// Present and right.
    Valid,
    /// No `*hh`: old instruments omit it; the caller decides whether to trust the line.
    Absent,
}

/// Why a line is not a usable sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// No `$` or `!` (a comment, a blank line, noise).
    NotASentence,
    /// Longer than [`MAX_LINE`].
    TooLong,
    /// Bytes that are not printable ASCII inside the sentence.
    NotText,
    /// The tag is not a talker and a type.
    BadTag,
    /// `*` not followed by two hex digits.
    BadChecksumText,
    /// The checksum does not match.
    Checksum {
        /// What the line says.
        stated: u8,
        /// What its bytes give.
        computed: u8,
    },
    /// A field that cannot be read (a letter where a number belongs, a latitude of 95°…).
    Field {
        /// The sentence type.
        sentence: &'static str,
        /// The field number (1 = first after the tag).
        field: u8,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotASentence => f.write_str("not an NMEA sentence"),
            Error::TooLong => write!(f, "line longer than {MAX_LINE} bytes"),
            Error::NotText => f.write_str("control or non-ASCII bytes inside the sentence"),
            Error::BadTag => f.write_str("no talker and sentence type"),
            Error::BadChecksumText => f.write_str("`*` not followed by two hex digits"),
            Error::Checksum { stated, computed } => {
                write!(f, "checksum {stated:02X} stated, {computed:02X} computed")
            }
            Error::Field { sentence, field } => write!(f, "{sentence} field {field} cannot be read"),
        }
    }
}

impl Error {
    /// A short snake_case name for counters.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::NotASentence => "not_a_sentence",
            Error::TooLong => "too_long",
            Error::NotText => "not_text",
            Error::BadTag => "bad_tag",
            Error::BadChecksumText | Error::Checksum { .. } => "checksum",
            Error::Field { .. } => "bad_field",
        }
    }
}

/// One sentence's frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// `!`: AIS encapsulation (`!AIVDM`), else `$`.
    pub encapsulated: bool,
    /// Talker (`GP`, `II`, `WI`…), or `P` for proprietary sentences.
    pub talker: &'a str,
    /// Sentence type (`RMC`), or the maker and type of a proprietary one (`GRME`).
    pub kind: &'a str,
    /// Checksum status.
    pub checksum: Checksum,
    /// The fields after the tag, without the checksum (empty when there are none).
    body: &'a str,
}

/// The checksum of a sentence's content: the XOR of every byte between the `$`/`!` and the `*`
/// (marine.md §2.1), for writers of sentences (the simulator's instruments).
pub fn checksum(content: &[u8]) -> u8 {
    content.iter().fold(0u8, |a, b| a ^ b)
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'A'..=b'F' => Some(b - b'A' + 10),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

impl<'a> Frame<'a> {
    /// Frame one line. Anything before the `$`/`!` (a logger's time stamp, a TAG block) and
    /// trailing whitespace are ignored.
    pub fn parse(line: &'a [u8]) -> Result<Self, Error> {
        if line.len() > MAX_LINE {
            return Err(Error::TooLong);
        }
        let start = line.iter().position(|b| *b == b'$' || *b == b'!').ok_or(Error::NotASentence)?;
        let mut end = line.len();
        while end > start && line[end - 1].is_ascii_whitespace() {
            end -= 1;
        }
        let s = &line[start..end];
        if s.iter().any(|b| !(0x20..0x7F).contains(b)) {
            return Err(Error::NotText);
        }
        let (content, checksum) = match s.iter().rposition(|b| *b == b'*') {
            Some(star) => {
                let digits = &s[star + 1..];
                let stated = match digits {
                    [h, l] => match (hex_digit(*h), hex_digit(*l)) {
                        (Some(h), Some(l)) => h << 4 | l,
                        _ => return Err(Error::BadChecksumText),
                    },
                    _ => return Err(Error::BadChecksumText),
                };
                let computed = checksum(&s[1..star]);
                if stated != computed {
                    return Err(Error::Checksum { stated, computed });
                }
                (&s[1..star], Checksum::Valid)
            }
            None => (&s[1..], Checksum::Absent),
        };
        // Printable ASCII throughout, so this cannot fail.
        let content = core::str::from_utf8(content).map_err(|_| Error::NotText)?;
        let (tag, body) = content.split_once(',').unwrap_or((content, ""));
        if tag.len() < 3 || !tag.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(Error::BadTag);
        }
        // `$P…` is proprietary, except a five-character tag ending in a standard type: loggers
        // send their sensors as `$PYXDR`, `$PYMTA` (going.to.groix.2.nmea's BME280).
        let standard = tag.len() == 5 && super::sentences::is_standard(&tag[2..]);
        let (talker, kind) =
            if tag.starts_with('P') && !standard { tag.split_at(1) } else { tag.split_at(tag.len() - 3) };
        Ok(Frame { encapsulated: s[0] == b'!', talker, kind, checksum, body })
    }

    /// The fields after the tag.
    pub fn fields(&self) -> impl Iterator<Item = &'a str> + Clone {
        let body = self.body;
        let empty = body.is_empty();
        body.split(',').take(if empty { 0 } else { usize::MAX })
    }

    /// Field `n` (1 = the first after the tag), empty when absent.
    pub fn field(&self, n: usize) -> &'a str {
        if n == 0 {
            return "";
        }
        self.fields().nth(n - 1).unwrap_or("")
    }
}

/// Cuts a byte stream into lines: CR, LF or both end a line; NUL bytes are dropped (counted);
/// a line over [`MAX_LINE`] is reported as [`Error::TooLong`] once and skipped to its end.
#[derive(Debug, Clone)]
pub struct LineFramer {
    buf: [u8; MAX_LINE],
    len: usize,
    overflow: bool,
    /// NUL bytes dropped so far.
    pub nuls_dropped: u64,
}

impl Default for LineFramer {
    fn default() -> Self {
        LineFramer { buf: [0; MAX_LINE], len: 0, overflow: false, nuls_dropped: 0 }
    }
}

impl LineFramer {
    /// An empty framer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed bytes; `on_line` gets every complete line (without its ending).
    pub fn push_all(&mut self, bytes: &[u8], mut on_line: impl FnMut(Result<&[u8], Error>)) {
        for &b in bytes {
            match b {
                b'\r' | b'\n' => {
                    if self.overflow {
                        on_line(Err(Error::TooLong));
                    } else if self.len > 0 {
                        on_line(Ok(&self.buf[..self.len]));
                    }
                    self.len = 0;
                    self.overflow = false;
                }
                0 => self.nuls_dropped += 1,
                _ if self.len < MAX_LINE => {
                    self.buf[self.len] = b;
                    self.len += 1;
                }
                _ => self.overflow = true,
            }
        }
    }

    /// Forget a partial line (the port was reopened).
    pub fn reset(&mut self) {
        self.len = 0;
        self.overflow = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_checksums_and_tags() {
        let f = Frame::parse(b"$IIMWV,338,R,13.41,N,A*2C\r\n").unwrap();
        assert_eq!((f.talker, f.kind, f.checksum, f.encapsulated), ("II", "MWV", Checksum::Valid, false));
        assert_eq!(f.fields().collect::<std::vec::Vec<_>>(), ["338", "R", "13.41", "N", "A"]);
        assert_eq!(f.field(3), "13.41");
        assert_eq!(f.field(9), "");
        assert_eq!(Frame::parse(b"$IIMWV,338,R,13.41,N,A*2D"), Err(Error::Checksum { stated: 0x2D, computed: 0x2C }));
        assert_eq!(Frame::parse(b"$IIMWV,338,R,13.41,N,A").unwrap().checksum, Checksum::Absent);
        assert_eq!(Frame::parse(b"$IIMWV,338*2"), Err(Error::BadChecksumText));
        assert_eq!(Frame::parse(b"# a comment"), Err(Error::NotASentence));
        assert_eq!(Frame::parse(b"$,1,2"), Err(Error::BadTag));
        let p = Frame::parse(b"$PGRME,15.0,M,45.0,M,25.0,M*1C").unwrap();
        assert_eq!((p.talker, p.kind), ("P", "GRME"));
        let p = Frame::parse(b"$PYXDR,P,1.0136,B,0*7E").unwrap();
        assert_eq!((p.talker, p.kind), ("PY", "XDR"));
        // A logger's time stamp before the sentence.
        let t = Frame::parse(b"2023-09-02T12:41:35.168370+00:00\t$IIHDT,,T*0C").unwrap();
        assert_eq!((t.kind, t.field(2)), ("HDT", "T"));
    }

    #[test]
    fn the_framer_drops_nuls_and_splits_on_any_line_ending() {
        let mut f = LineFramer::new();
        let mut lines = std::vec::Vec::new();
        f.push_all(b"$A,1*00\r\n$B\0\0,2\n\n$C,3\r", |l| lines.push(l.map(|l| l.to_vec())));
        assert_eq!(lines, [Ok(b"$A,1*00".to_vec()), Ok(b"$B,2".to_vec()), Ok(b"$C,3".to_vec())]);
        assert_eq!(f.nuls_dropped, 2);
        let long = [b'x'; MAX_LINE + 10];
        lines.clear();
        f.push_all(&long, |l| lines.push(l.map(|l| l.to_vec())));
        f.push_all(b"\n$D\n", |l| lines.push(l.map(|l| l.to_vec())));
        assert_eq!(lines, [Err(Error::TooLong), Ok(b"$D".to_vec())]);
    }
}
