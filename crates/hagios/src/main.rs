//! The `hagios` binary: the command line over the hagios crates (the application is
//! `hagios-core`). `notify` stays synchronous and network-free; the daemons run on tokio.

mod audit;
mod certs;
mod daemon;
mod doctor;
mod nagios_check;
mod notify;
mod prune;
mod report;
mod store_copy;
mod timeline;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "hagios", version, about = "ChatOps bridge between Nagios and team chat")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Spool one notification (run by Nagios as a notification command).
    Notify(Box<notify::NotifyArgs>),
    /// Run the bot and the monitoring side in one process (single host, embedded default).
    Run {
        #[arg(long, env = "HAGIOS_CONFIG")]
        config: PathBuf,
    },
    /// Print the newest entries of the audit log (every chat command, allowed or refused).
    Audit {
        #[arg(long, env = "HAGIOS_CONFIG")]
        config: PathBuf,
        /// How many entries to print
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Print the story of an object's newest incident as Markdown (what `timeline` posts in chat).
    Timeline {
        #[arg(long, env = "HAGIOS_CONFIG")]
        config: PathBuf,
        /// HOST or HOST!SERVICE, with SITE: in front where several sites have the host
        incident: String,
    },
    /// Print the numbers of a period (what `report` posts in chat): time to acknowledge and to
    /// recover per route and per schedule, the noisiest services, pages per person.
    Report {
        #[arg(long, env = "HAGIOS_CONFIG")]
        config: PathBuf,
        /// How far back, like 7d (the default), 24h or 30d; at most 90d
        #[arg(default_value = "7d")]
        period: String,
        /// Also write the chart (incidents opened and pages, per hour or day) to this PNG file
        #[arg(long)]
        chart: Option<PathBuf>,
    },
    /// Work with the configuration file.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Make the private CA and the agent and bot certificates of a split deployment, and renew them.
    #[command(subcommand)]
    Certs(certs::CertsCommand),
    /// Run on the monitoring server: send notifications to the bot, carry out its commands.
    Agent {
        #[arg(long, env = "HAGIOS_CONFIG")]
        config: PathBuf,
    },
    /// Run where chat is reachable: accept agents over mutual TLS, serve chat for every site.
    Bot {
        #[arg(long, env = "HAGIOS_CONFIG")]
        config: PathBuf,
    },
    /// Work with the Nagios configuration.
    #[command(subcommand)]
    Nagios(NagiosCommand),
    /// Work with the state database.
    #[command(subcommand)]
    Store(StoreCommand),
    /// Check what goes wrong on a first day, one line per check with the fix: Nagios' contact
    /// and commands, the FIFO, status.dat, the spool, the Icinga API permissions, chat tokens and
    /// channels, certificates. Exit 0 when nothing fails.
    Doctor {
        #[arg(long, env = "HAGIOS_CONFIG")]
        config: PathBuf,
        #[command(flatten)]
        user: ServiceUser,
    },
}

/// Whom the file checks are for.
#[derive(clap::Args)]
struct ServiceUser {
    /// Check as this local user (default: `hagios` when run as root and that user exists, else
    /// whoever runs this)
    #[arg(long = "user")]
    name: Option<String>,
}

#[derive(Subcommand)]
enum StoreCommand {
    /// Delete now what `[store] keep` / `keep_audit` no longer keep (hagios run does it hourly).
    Prune {
        #[arg(long, env = "HAGIOS_CONFIG")]
        config: PathBuf,
    },
    /// Copy every row of a state database into a new, empty one (SQLite into PostgreSQL, or back);
    /// a PostgreSQL password comes from HAGIOS_STORE_PASSWORD.
    Copy {
        /// The database to copy: an SQLite file, or postgres://user@host:port/database
        #[arg(long)]
        from: String,
        /// The empty database to copy into: postgres://user@host:port/database, or an SQLite file
        #[arg(long)]
        to: String,
    },
}

#[derive(Subcommand)]
enum NagiosCommand {
    /// Check a Nagios 4 configuration like `nagios -v`, with file:line for every problem.
    Check {
        /// The main configuration file (nagios.cfg)
        main_cfg: PathBuf,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate a configuration file and print every problem found, then check that the user
    /// hagios runs as may use every file it names.
    Check {
        #[arg(long, env = "HAGIOS_CONFIG")]
        config: PathBuf,
        #[command(flatten)]
        user: ServiceUser,
    },
}

fn main() -> ExitCode {
    // slack-morphism's TLS is rustls with ring; naming the provider up front keeps rustls from
    // having to guess should another crate ever bring a second one.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    match cli.command {
        Command::Notify(args) => notify::run(*args),
        Command::Run { config } => daemon::main("run", &config, hagios_core::run::serve),
        Command::Audit { config, limit } => audit::main(&config, limit),
        Command::Timeline { config, incident } => timeline::main(&config, &incident),
        Command::Report { config, period, chart } => report::main(&config, &period, chart.as_deref()),
        Command::Config(ConfigCommand::Check { config, user }) => doctor::check_config(&config, user.name.as_deref()),
        Command::Certs(command) => certs::main(command),
        Command::Agent { config } => daemon::main("agent", &config, hagios_core::agent::serve),
        Command::Bot { config } => daemon::main("bot", &config, hagios_core::bot::serve),
        Command::Nagios(NagiosCommand::Check { main_cfg }) => nagios_check::main(&main_cfg),
        Command::Store(StoreCommand::Prune { config }) => prune::main(&config),
        Command::Store(StoreCommand::Copy { from, to }) => store_copy::main(&from, &to),
        Command::Doctor { config, user } => doctor::main(&config, user.name.as_deref()),
    }
}
