//! Lines from a stream in bounded memory: text inputs (recordings, message lists) are read a line
//! at a time, and a "line" that never ends (a binary file, `/dev/zero`) must not take all memory.

/// The longest line kept: a record is at most a few kilobytes (a Meshtastic frame in hex), so a
/// longer "line" is garbage, and holding it would let a file without line ends take
/// all memory.
pub const MAX_LINE: usize = 1 << 20;

/// Read one line (with its end) into `line`, keeping at most [`MAX_LINE`] bytes of it: the rest
/// is read through. Returns the bytes read and whether the line was cut.
pub fn read_line(reader: &mut impl std::io::BufRead, line: &mut Vec<u8>) -> std::io::Result<(usize, bool)> {
    let (mut read, mut cut) = (0, false);
    loop {
        let buf = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            return Ok((read, cut));
        }
        let (take, ended) = buf.iter().position(|b| *b == b'\n').map_or((buf.len(), false), |i| (i + 1, true));
        let keep = take.min(MAX_LINE.saturating_sub(line.len()));
        cut |= keep < take;
        line.extend_from_slice(&buf[..keep]);
        reader.consume(take);
        read += take;
        if ended {
            return Ok((read, cut));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_come_whole_and_an_endless_one_is_cut_not_held() {
        let mut input = std::io::BufReader::with_capacity(7, &b"one\r\ntwo\nthree"[..]);
        let mut line = Vec::new();
        let mut lines = Vec::new();
        loop {
            line.clear();
            let (n, cut) = read_line(&mut input, &mut line).unwrap();
            if n == 0 {
                break;
            }
            assert!(!cut);
            lines.push(String::from_utf8(line.clone()).unwrap());
        }
        assert_eq!(lines, ["one\r\n", "two\n", "three"]);

        // 3 MiB of zeros then a line: the zeros are one cut line of MAX_LINE bytes kept.
        let mut big = vec![0u8; 3 << 20];
        big.extend_from_slice(b"\nnext\n");
        let mut input = std::io::BufReader::new(&big[..]);
        line.clear();
        assert_eq!(read_line(&mut input, &mut line).unwrap(), ((3 << 20) + 1, true));
        assert_eq!(line.len(), MAX_LINE);
        line.clear();
        assert_eq!(read_line(&mut input, &mut line).unwrap(), (5, false));
        assert_eq!(line, b"next\n");
    }
}
