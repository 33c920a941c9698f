//! The manual pages and shell completions the Debian package ships, generated from the command
//! line's own definition so they can never drift from `--help` (`halyard generate`, hidden; run by
//! `scripts/package.sh`).

use std::path::Path;

use anyhow::{Context, Result};
use clap::Command;
use clap_complete::Shell;

/// `halyard --version`'s text: the version and the optional capabilities built in.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (built with: ", env!("HALYARD_FEATURES"), ")");

/// One page per command, `halyard.1`, `halyard-run.1`, `halyard-masterbus-listen.1` …, in `dir`
/// (uncompressed; the packager compresses them). Returns the file names written.
pub fn write_man_pages(command: Command, dir: &Path) -> Result<Vec<String>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut command = command;
    command.build();
    let mut written = Vec::new();
    page(&command, "halyard", dir, &mut written)?;
    Ok(written)
}

fn page(command: &Command, name: &str, dir: &Path, written: &mut Vec<String>) -> Result<()> {
    if command.is_hide_set() {
        return Ok(());
    }
    let file = format!("{name}.1");
    let mut bytes = Vec::new();
    // A sub-command's page is titled by its full name (`halyard-run`), as git's are.
    let titled = command.clone().name(name.to_string()).bin_name(name.replace('-', " "));
    clap_mangen::Man::new(titled).render(&mut bytes)?;
    std::fs::write(dir.join(&file), bytes).with_context(|| format!("writing {file}"))?;
    written.push(file);
    for sub in command.get_subcommands() {
        if sub.get_name() != "help" {
            page(sub, &format!("{name}-{}", sub.get_name()), dir, written)?;
        }
    }
    Ok(())
}

/// bash, zsh and fish completions in `dir`, under the names each shell's vendor directory
/// expects (`halyard`, `_halyard`, `halyard.fish`).
pub fn write_completions(command: Command, dir: &Path) -> Result<Vec<String>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut written = Vec::new();
    for (shell, file) in [(Shell::Bash, "halyard"), (Shell::Zsh, "_halyard"), (Shell::Fish, "halyard.fish")] {
        let mut command = command.clone();
        let mut bytes = Vec::new();
        clap_complete::generate(shell, &mut command, "halyard", &mut bytes);
        std::fs::write(dir.join(file), bytes).with_context(|| format!("writing {file}"))?;
        written.push(file.to_string());
    }
    Ok(written)
}
