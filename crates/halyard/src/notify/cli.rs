//! `halyard notify test [NAME]`: a test message through every configured notifier (or one),
//! each reported with its time or why it failed — the way to know the phone will ring before
//! the anchor drags.

use anyhow::{bail, Result};

use crate::config::Config;

/// `halyard notify`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// Send a test message through each notifier ([notify.<name>] in the configuration).
    Test {
        /// Only this notifier.
        name: Option<String>,
        /// The configuration.
        #[arg(short, long, env = "HALYARD_CONFIG")]
        config: Option<std::path::PathBuf>,
    },
}

/// Run it.
pub fn command(args: Args) -> Result<()> {
    let What::Test { name, config } = args.what;
    let config = Config::load_or_default(config.as_deref())?;
    if config.notify.is_empty() {
        bail!("no notifier is configured: add a [notify.<name>] section (README, \"Alarms\")");
    }
    if let Some(n) = &name {
        if !config.notify.contains_key(n) {
            bail!("no [notify.{n}] (configured: {})", config.notify.keys().cloned().collect::<Vec<_>>().join(", "));
        }
    }
    let radios: Vec<_> = config.meshtastic.iter().map(|m| m.source.clone()).collect();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let results = runtime.block_on(super::test(&config.notify, &radios, name.as_deref()));
    let mut failed = 0;
    for (name, how, r) in &results {
        match r {
            Ok(t) => println!("{name} ({how}): sent in {:.2} s", t.as_secs_f64()),
            Err(e) => {
                failed += 1;
                println!("{name} ({how}): FAILED: {e}");
            }
        }
    }
    if failed > 0 {
        bail!("{failed} of {} notifiers failed", results.len());
    }
    Ok(())
}
