//! `halyard`: the gateway daemon and command-line tool (the library holds everything; this is
//! the command line).

use std::process::ExitCode;

use std::path::PathBuf;

use clap::{CommandFactory, Parser, Subcommand};

use halyard::{decode, gateway, masterbus, Exit};

/// Halyard: a boat's electrical and navigation data, from the devices to MQTT, history and answers.
#[derive(Debug, Parser)]
#[command(name = "halyard", version = halyard::manual::VERSION, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decode one advertisement, message or capture and print JSON (debugging, scripting).
    Decode {
        #[command(subcommand)]
        protocol: decode::Protocol,
    },
    /// The whole system on a simulated week aboard, with the embedded broker; no hardware.
    Demo(halyard::demo::DemoArgs),
    /// The daily answers from the history: solar start/stop, charging, full, yields, consumption …
    Report(halyard::report::Args),
    /// The alarms kept in the history: raised, acknowledged, cleared.
    Alarms(halyard::alarms::history::Args),
    /// Alarm notifications: `notify test` sends a test message through each notifier.
    Notify(halyard::notify::cli::Args),
    /// Anchor watch: `anchor drop [--radius M | --rode M]`, `anchor up`, `anchor status`.
    Anchor(halyard::alarms::anchor_command::Args),
    /// Navigation answers: max gust today and in the last hour, where the boat stayed, GPS fix losses.
    Nav(halyard::nav::Args),
    /// Meshtastic: where the dinghy and everyone are (distance, bearing true and magnetic), max and reliable range.
    Mesh(halyard::mesh::Args),
    /// The history for other tools: the track as KML (one line per day, the places stayed) or
    /// GPX; values as CSV (one column per device.metric, local time and UTC).
    Export(halyard::export::Args),
    /// Simulate days aboard: a recording in real wire formats, the ground truth and a config.
    Sim(halyard::sim::Args),
    /// The first run on a boat: find the devices, check the Victron keys, write the configuration.
    Setup(halyard::setup::Args),
    /// The gateway: read the configured devices, publish to MQTT (DESIGN.md §4.4 for the file).
    Run(gateway::RunArgs),
    /// Feed captures through the whole pipeline into MQTT (recordings, pcapng, candump, VE.Direct).
    Replay(gateway::ReplayArgs),
    /// Import captures into the history store only (no MQTT), with the daily reports.
    Import(gateway::ImportArgs),
    /// MasterBus: listen to a live bus (passive by default), discover devices and poll items.
    #[command(name = "masterbus")]
    MasterBus {
        #[command(subcommand)]
        command: MasterBusCommand,
    },
    /// The packager's: write the manual pages and shell completions into a directory.
    #[command(hide = true)]
    Generate {
        /// `man` or `completions`.
        #[arg(value_parser = ["man", "completions"])]
        what: String,
        /// Where to write them.
        dir: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum MasterBusCommand {
    /// Print values (and with --all every frame) as JSON lines from an adapter, gateway or capture.
    Listen(masterbus::listen::Args),
}

/// Warnings of the one-shot commands, on standard error.
fn cli_logging() {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing::Level::INFO)
        .without_time()
        .with_target(false)
        .try_init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Decode { protocol } => {
            cli_logging();
            decode::run(protocol)
        }
        Command::MasterBus { command: MasterBusCommand::Listen(args) } => {
            cli_logging();
            masterbus::listen::run(args)
        }
        Command::Run(args) => gateway::run(args),
        Command::Setup(args) => {
            cli_logging();
            halyard::setup::command(args)
        }
        Command::Demo(args) => halyard::demo::demo(args),
        Command::Report(args) => halyard::report::command(args),
        Command::Alarms(args) => halyard::alarms::history::command(args),
        Command::Notify(args) => halyard::notify::cli::command(args),
        Command::Anchor(args) => halyard::alarms::anchor_command::command(args),
        Command::Nav(args) => halyard::nav::command(args),
        Command::Mesh(args) => halyard::mesh::command(args),
        Command::Export(args) => halyard::export::command(args),
        Command::Sim(args) => {
            cli_logging();
            halyard::sim::command(args)
        }
        Command::Replay(args) => gateway::replay(args),
        Command::Import(args) => gateway::import(args),
        Command::Generate { what, dir } => {
            let written = if what == "man" {
                halyard::manual::write_man_pages(Cli::command(), &dir)
            } else {
                halyard::manual::write_completions(Cli::command(), &dir)
            };
            written.map(|files| println!("{}", files.join("\n")))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // `halyard decode … | head` closing the pipe is not an error.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => match e.downcast::<Exit>() {
            Ok(exit) => {
                eprintln!("halyard: {}", exit.message);
                ExitCode::from(exit.code)
            }
            Err(e) => {
                eprintln!("halyard: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}
