//! The serial console (USB-Serial-JTAG): a person with a laptop sets the node up before it has
//! Wi-Fi. Lines are `key = value` (staged), `show` (the staged configuration, secrets hidden),
//! `save` (to flash, then restart), `reset` (forget the staged changes), `help`.

use alloc::string::{String, ToString};

use crate::config::Config;

/// What a line asks the firmware to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Print this.
    Say(String),
    /// Write this configuration to flash and restart.
    Save(Config),
}

/// The console's staged configuration.
pub struct Console {
    staged: Config,
    line: String,
}

const HELP: &str = "key = value   stage a setting (see the README for the keys)\nshow          the staged configuration (secrets as ***)\nsave          write it to flash and restart\nreset         forget the staged changes\n";

impl Console {
    /// Starting from the running configuration.
    pub fn new(running: Config) -> Self {
        Console { staged: running, line: String::new() }
    }

    /// Bytes typed; one action per complete line (CR or LF ends a line, backspace edits).
    pub fn input(&mut self, bytes: &[u8], running: &Config, mut act: impl FnMut(Action)) {
        for &b in bytes {
            match b {
                b'\r' | b'\n' => {
                    let line = core::mem::take(&mut self.line);
                    if let Some(a) = self.command(line.trim(), running) {
                        act(a);
                    }
                }
                0x08 | 0x7F => {
                    self.line.pop();
                }
                b if self.line.len() < 256 && (0x20..0x7F).contains(&b) => self.line.push(char::from(b)),
                _ => {}
            }
        }
    }

    fn command(&mut self, line: &str, running: &Config) -> Option<Action> {
        Some(match line {
            "" => return None,
            "help" | "?" => Action::Say(HELP.into()),
            "show" => Action::Say(self.staged.redacted()),
            "save" => Action::Save(self.staged.clone()),
            "reset" => {
                self.staged = running.clone();
                Action::Say("staged changes forgotten\n".into())
            }
            setting => match self.staged.apply(setting) {
                Ok(()) => Action::Say("ok (save to keep)\n".into()),
                Err(e) => Action::Say(e.to_string() + "\n"),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn stage_show_and_save() {
        let running = Config::parse("wifi_ssid = old").unwrap();
        let mut c = Console::new(running.clone());
        let mut said = Vec::new();
        c.input(b"wifi_ssid = Lille Oe\r\nwifi_passwordX\x08 = hunter22\r\nblah\nshow\n", &running, |a| said.push(a));
        assert_eq!(said[0], Action::Say("ok (save to keep)\n".into()));
        assert_eq!(said[1], Action::Say("ok (save to keep)\n".into()), "backspace edited the key");
        assert_eq!(said[2], Action::Say("line 1: not `key = value`\n".into()));
        let Action::Say(shown) = &said[3] else { panic!() };
        assert!(
            shown.contains("wifi_ssid = Lille Oe")
                && shown.contains("wifi_password = ***")
                && !shown.contains("hunter22")
        );
        said.clear();
        c.input(b"save\n", &running, |a| said.push(a));
        let [Action::Save(saved)] = said.as_slice() else { panic!("{said:?}") };
        assert_eq!(saved.get("wifi_password"), Some("hunter22"));
    }
}
