//! `hagios certs`: the private CA and the agent and bot certificates of a split deployment,
//! one command each. The work is in hagios-link; this prints where every file has to go.

use clap::Subcommand;
use hagios_link::certs::{self, Role};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

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
    /// Renew certificates signed by the CA in DIR: a new key and certificate with the same role
    /// and names, valid for two more years; the current pair is kept as NAME.crt.STAMP and
    /// NAME.key.STAMP.
    Renew {
        #[arg(long)]
        dir: PathBuf,
        /// Every certificate in DIR that expires within this time, like 30d (with NAMEs: only
        /// those of them)
        #[arg(long, value_parser = humantime::parse_duration)]
        due: Option<Duration>,
        /// The certificates to renew: NAME as given to `issue` (DIR/NAME.crt)
        #[arg(required_unless_present = "due")]
        names: Vec<String>,
    },
}

pub fn main(command: CertsCommand) -> ExitCode {
    let result = match &command {
        CertsCommand::Init { dir } => certs::init_ca(dir).map(|written| format!("created a private CA:\n{written}")),
        CertsCommand::Issue { dir, role, name, san } => role.parse::<Role>().and_then(|role| {
            certs::issue(dir, role, name, san)
                .map(|written| format!("issued the {role} certificate `{name}`:\n{written}"))
        }),
        CertsCommand::Renew { dir, due, names } => renew(dir, *due, names),
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

/// Renews `names`, or with `due` those (or all) that expire within it; each is reported as it is
/// done, and the first error stops the rest.
fn renew(dir: &Path, due: Option<Duration>, names: &[String]) -> Result<String, certs::CertError> {
    let chosen: Vec<String> = match due {
        None => names.to_vec(),
        Some(within) => certs::due(dir, within)?
            .into_iter()
            .map(|(name, _)| name)
            .filter(|name| names.is_empty() || names.contains(name))
            .collect(),
    };
    if chosen.is_empty() {
        return Ok(format!("nothing to renew: no certificate in {} expires that soon\n", dir.display()));
    }
    for name in &chosen {
        let written = certs::renew(dir, name)?;
        print!("renewed `{name}`:\n{written}");
    }
    Ok(String::new())
}
