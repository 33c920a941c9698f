//! `halyard`: the gateway daemon and command-line tool.
//!
//! This binary is the I/O edge: it reads files, arguments and (later) devices, and hands bytes
//! to the `no_std` decoders of `halyard-proto`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod burst;
mod decode;
mod json;
mod keys;
mod masterbus;
mod sources;

/// Halyard: a boat's electrical and navigation data, from the devices to MQTT, history and answers.
#[derive(Debug, Parser)]
#[command(name = "halyard", version, about, propagate_version = true)]
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
    /// MasterBus: listen to a live bus (passive by default), discover devices and poll items.
    #[command(name = "masterbus")]
    MasterBus {
        #[command(subcommand)]
        command: MasterBusCommand,
    },
}

#[derive(Debug, Subcommand)]
enum MasterBusCommand {
    /// Print values (and with --all every frame) as JSON lines from an adapter, gateway or capture.
    Listen(masterbus::listen::Args),
}

/// An error with its own exit code (the `decode` contract: a wrong key exits with 3).
#[derive(Debug)]
pub struct Exit {
    /// The process exit code.
    pub code: u8,
    /// One line for standard error.
    pub message: String,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Decode { protocol } => decode::run(protocol),
        Command::MasterBus { command: MasterBusCommand::Listen(args) } => masterbus::listen::run(args),
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

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Exit {}
