//! Parsing of user-supplied keys. Keys are secrets: error messages describe their shape,
//! never their content.

use anyhow::{bail, Result};

/// Parse a 16-byte key given as 32 hex digits (spaces, colons and dashes allowed).
///
/// VictronConnect on iOS sometimes shows 31 characters (a dropped leading zero,
/// Fabian-Schmidt/esphome-victron_ble#59 and others): say so rather than "invalid key".
pub fn parse_key(what: &str, text: &str) -> Result<[u8; 16]> {
    let digits: String = text.chars().filter(|c| !matches!(c, ' ' | ':' | '-')).collect();
    if let Some(pos) = digits.find(|c: char| !c.is_ascii_hexdigit()) {
        bail!("{what} must be hexadecimal; character {} is not a hex digit", pos + 1);
    }
    match digits.len() {
        32 => {}
        31 => bail!(
            "{what} has 31 hex digits, 32 are needed; some VictronConnect versions hide a leading 0: \
             try prefixing one, or reset the device's Bluetooth PIN to get a new key"
        ),
        n => bail!("{what} must be 32 hex digits (16 bytes), got {n}"),
    }
    let mut key = [0u8; 16];
    halyard_proto::hex::decode_into(digits.as_bytes(), &mut key)?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_separators_and_never_echoes_the_key() {
        assert_eq!(parse_key("key", "00:01:02:03:04:05:06:07:08:09:0a:0b:0c:0d:0e:0f").unwrap()[15], 0x0f);
        let e = parse_key("key", "adeccb947395801a4dd45a2eaa44bf1").unwrap_err().to_string();
        assert!(e.contains("31 hex digits") && !e.contains("adeccb"), "{e}");
        let e = parse_key("key", "zzeccb947395801a4dd45a2eaa44bf17").unwrap_err().to_string();
        assert!(!e.contains("zzeccb"), "{e}");
    }
}
