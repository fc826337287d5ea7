//! `hagios certs`: the private CA and the agent and bot certificates of a split deployment,
//! one command each. The work is in hagios-link; this prints where every file has to go.

use clap::Subcommand;
use hagios_link::certs::{self, Role};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum CertsCommand {
    /// Create a private CA: DIR/ca.crt (public) and DIR/ca.key (secret).
    Init {
        #[arg(long)]
        dir: PathBuf,
    },
    /// Issue a certificate and key signed by the CA in DIR: DIR/NAME.crt and DIR/NAME.key.
    Issue {
        #[arg(long)]
        dir: PathBuf,
        /// `agent` (runs on a monitoring server, NAME is its site) or `bot` (accepts agents)
        #[arg(long, value_parser = ["agent", "bot"])]
        role: String,
        /// The site name for an agent; the host name agents dial for a bot
        #[arg(long)]
        name: String,
        /// Further DNS names or IP addresses agents may dial the bot by (bot only)
        #[arg(long)]
        san: Vec<String>,
    },
}

pub fn main(command: CertsCommand) -> ExitCode {
    let result = match &command {
        CertsCommand::Init { dir } => certs::init_ca(dir).map(|written| format!("created a private CA:\n{written}")),
        CertsCommand::Issue { dir, role, name, san } => role.parse::<Role>().and_then(|role| {
            certs::issue(dir, role, name, san)
                .map(|written| format!("issued the {role} certificate `{name}`:\n{written}"))
        }),
    };
    match result {
        Ok(report) => {
            print!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("hagios certs: {e}");
            ExitCode::FAILURE
        }
    }
}
