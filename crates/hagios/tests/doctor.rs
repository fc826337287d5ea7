//! `hagios doctor` and `hagios config check` against a real Nagios on Debian's stock settings
//! (status.dat every 10 s, environment macros off) set up as contrib/nagios/README.md says, a
//! real Icinga 2, a real PostgreSQL for the store two bots share, and the fake Slack: the
//! documented setup passes, and each first-day mistake fails with its fix.

mod common;

use common::split::Deployment;
use common::{contrib_snippet, slack_chat, write_config, HAGIOS, SLACK_TOKENS};
use hagios_fakeslack::FakeSlack;
use hagios_testkit::{IcingaInstance, IcingaOptions, NagiosInstance, NagiosOptions, PostgresInstance, PostgresOptions};
use std::path::Path;
use std::process::Command;

/// `hagios ARGS… --config CONFIG [--user USER]` with `env`: its exit code and everything it printed.
fn hagios(args: &[&str], config: &Path, user: Option<&str>, env: &[(&str, &str)]) -> (i32, String) {
    let mut command = Command::new(HAGIOS);
    command.args(args).arg("--config").arg(config).envs(env.iter().copied());
    if let Some(user) = user {
        command.args(["--user", user]);
    }
    let output = command.output().expect("run hagios");
    let printed = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.code().expect("exit code"), printed)
}

fn doctor(config: &Path, user: Option<&str>) -> (i32, String) {
    hagios(&["doctor"], config, user, &[])
}

/// The lines of a report at one level (`OK  `, `WARN`, `FAIL`).
fn lines<'a>(report: &'a str, level: &str) -> Vec<&'a str> {
    report.lines().filter(|line| line.starts_with(level)).collect()
}

fn make_spool(spool: &Path) {
    for folder in ["tmp", "new", "bad"] {
        std::fs::create_dir_all(spool.join(folder)).expect("spool folder");
    }
}

/// The current user's name, for checks that must not switch to a `hagios` service user.
fn me() -> String {
    let output = Command::new("id").arg("-un").output().expect("id -un");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

#[test]
fn a_stock_nagios_set_up_as_documented_passes_and_each_mistake_fails_with_its_fix() {
    let dir = tempfile::tempdir().expect("temp dir");
    let spool = dir.path().join("spool");
    let options = NagiosOptions {
        extra_objects: contrib_snippet(&spool),
        without_environment_macros: true,
        status_update_interval: Some(10),
        ..Default::default()
    };
    let Some(mut nagios) = NagiosInstance::start(options) else { return };
    make_spool(&spool);
    let config = write_config(dir.path(), &nagios.hagios_section(), "", "oncall");
    let me = me();

    let (code, report) = doctor(&config, Some(&me));
    assert_eq!(code, 0, "{report}");
    assert!(lines(&report, "FAIL").is_empty(), "{report}");
    for expected in [
        "contact hagios notifies through notify-host-by-hagios, notify-service-by-hagios",
        "notify-service-by-hagios passes the macros as flags",
        &format!("notify-host-by-hagios writes into {}", spool.display()),
        &format!("may write commands to {}", nagios.command_file().display()),
        "is fresh (written every 10s)",
        "may write into",
        &format!(
            "commands: status.dat is written every 10 s (status_update_interval in {}); a command's final word comes \
             within 25 s; watching {}",
            nagios.config_file().display(),
            nagios.log_file().display()
        ),
        &format!("may read Nagios' log {}", nagios.log_file().display()),
    ] {
        assert!(report.lines().any(|line| line.starts_with("OK") && line.contains(expected)), "{expected}:\n{report}");
    }
    let (code, checked) = hagios(&["config", "check"], &config, Some(&me), &[]);
    assert_eq!(code, 0, "{checked}");
    assert!(checked.contains(&format!("OK (checked as user {me})")), "{checked}");
    assert!(checked.contains("commands: status.dat is written every 10 s (status_update_interval in"), "{checked}");

    // A user who may not enter the instance's folder (0700) can use none of its files.
    let (code, report) = doctor(&config, Some("nobody"));
    assert_eq!(code, 1, "{report}");
    let failed = lines(&report, "FAIL").join("\n");
    for expected in [
        &format!("nobody cannot write {}", nagios.command_file().display()),
        "nobody cannot write into",
        "the state database cannot be kept in",
        "(chgrp)",
    ] {
        assert!(failed.contains(expected), "{expected}:\n{report}");
    }
    let (code, checked) = hagios(&["config", "check"], &config, Some("nobody"), &[]);
    assert_eq!(code, 1, "config check fails for a user who cannot read status.dat:\n{checked}");
    assert!(checked.contains("as user nobody hagios would fail") && checked.contains("FAIL"), "{checked}");
    // Debian's log is nagios:adm 0640: a user outside the group reads no evidence from it.
    let log = nagios.log_file();
    let mode = |mode| std::fs::set_permissions(log, std::os::unix::fs::PermissionsExt::from_mode(mode)).expect("chmod");
    mode(0o640);
    let (_, checked) = hagios(&["config", "check"], &config, Some("nobody"), &[]);
    mode(0o644);
    let log_unreadable = format!("WARN nobody cannot read Nagios' log {}", log.display());
    assert!(checked.contains(&log_unreadable), "{checked}");

    let objects = nagios.extra_objects_file();
    let rewrite = |text: String| std::fs::write(&objects, text).expect("rewrite the hagios objects");
    let documented = contrib_snippet(&spool);
    let failures = |text: String| {
        rewrite(text);
        let (code, report) = doctor(&config, Some(&me));
        assert_eq!(code, 1, "{report}");
        lines(&report, "FAIL").join("\n")
    };

    // Form A (environment macros) while nagios.cfg turns them off, as Debian ships it.
    let env_form = documented
        .lines()
        .map(|line| match line.find(" --type") {
            Some(at) if line.trim_start().starts_with("command_line") => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let failed = failures(env_form);
    assert!(failed.contains("relies on environment macros but nagios.cfg has enable_environment_macros=0"), "{failed}");

    let failed = failures(documented.replace(&spool.display().to_string(), "/srv/elsewhere"));
    assert!(failed.contains("writes into /srv/elsewhere but hagios reads"), "{failed}");

    let failed = failures(
        documented
            .replace(
                "host_notification_commands      notify-host-by-hagios",
                "host_notification_commands      notify-by-email",
            )
            .replace(
                "service_notification_commands   notify-service-by-hagios",
                "service_notification_commands   notify-by-email",
            ),
    );
    assert!(failed.contains("no contact uses notify-host-by-hagios"), "{failed}");

    let failed = failures(String::new());
    assert!(failed.contains("runs hagios-notify: copy contrib/nagios/hagios.cfg"), "{failed}");
    rewrite(documented);

    // Nagios' own user (nagios_user in nagios.cfg) must be able to write records into the spool.
    let main = std::fs::read_to_string(nagios.config_file()).expect("nagios.cfg");
    let original_user = main.lines().find(|line| line.starts_with("nagios_user=")).expect("nagios_user").to_owned();
    std::fs::write(nagios.config_file(), main.replace(&original_user, "nagios_user=nobody")).expect("nagios.cfg");
    let (code, report) = doctor(&config, Some(&me));
    assert_eq!(code, 1, "{report}");
    let failed = lines(&report, "FAIL").join("\n");
    assert!(failed.contains(&format!("nobody cannot write into {}", spool.join("tmp").display())), "{report}");
    std::fs::write(nagios.config_file(), main).expect("nagios.cfg");

    // Nagios stopped: no FIFO, and status.dat goes stale.
    nagios.stop();
    let (code, report) = doctor(&config, Some(&me));
    assert_eq!(code, 1, "{report}");
    assert!(report.contains("is not there") && report.contains("check_external_commands=1"), "{report}");
}

#[test]
fn each_icinga_api_permission_is_probed_without_changing_anything() {
    let Some(icinga) = IcingaInstance::start(IcingaOptions::default()) else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let section = |user: &str, ca: &Path| {
        format!(
            "[icinga]\nsite = \"test\"\nurl = \"{}\"\nuser = \"{user}\"\npassword_env = \"TEST_ICINGA_PASSWORD\"\nca_file = \"{}\"\n",
            icinga.url(),
            ca.display()
        )
    };
    let password = [("TEST_ICINGA_PASSWORD", icinga.api_password())];
    let hosts_before = icinga.query("hosts", &serde_json::json!({ "attrs": ["name"] })).len();
    let me = me();

    let config = write_config(dir.path(), &section(icinga.api_user(), &icinga.ca_file()), "", "oncall");
    let (code, report) = hagios(&["doctor"], &config, Some(&me), &password);
    assert_eq!(code, 0, "{report}");
    assert!(report.contains("the API user holds all 25 permissions hagios uses"), "{report}");

    let config = write_config(dir.path(), &section("readonly", &icinga.ca_file()), "", "oncall");
    let (code, report) = hagios(&["doctor"], &config, Some(&me), &password);
    assert_eq!(code, 1, "{report}");
    let failed = lines(&report, "FAIL").join("\n");
    for permission in
        ["actions/acknowledge-problem", "actions/add-comment", "objects/modify/Service", "events/StateChange"]
    {
        assert!(failed.contains(permission), "{permission}:\n{report}");
    }
    assert!(!failed.contains("objects/query/Host") && failed.contains("HagiosApiPermissions"), "{report}");
    let warned = lines(&report, "WARN").join("\n");
    assert!(warned.contains("objects/create/Host") && warned.contains("host add and host remove"), "{report}");
    let hosts_after = icinga.query("hosts", &serde_json::json!({ "attrs": ["name"] })).len();
    assert_eq!(hosts_after, hosts_before, "the probes create nothing");

    let (code, report) = hagios(&["doctor"], &config, Some(&me), &[]);
    assert_eq!(code, 1, "{report}");
    assert!(report.contains("FAIL Icinga 2 API: refused: set the Icinga 2 API password in the environment variable"));

    // The CA where Debian keeps it is readable by root only (/var/lib/icinga2/certs is 0700).
    let private_ca = dir.path().join("private-ca.crt");
    std::fs::copy(icinga.ca_file(), &private_ca).expect("copy the CA");
    std::fs::set_permissions(&private_ca, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
    let config = write_config(dir.path(), &section(icinga.api_user(), &private_ca), "", "oncall");
    let (code, report) = hagios(&["doctor"], &config, Some("nobody"), &password);
    assert_eq!(code, 1, "{report}");
    let failed = lines(&report, "FAIL").join("\n");
    assert!(
        failed.contains(&format!("nobody cannot read {}", private_ca.display()))
            && failed.contains("keep a copy hagios may read, e.g. in /etc/hagios"),
        "{report}"
    );
    let (code, checked) = hagios(&["config", "check"], &config, Some("nobody"), &[]);
    assert_eq!(code, 1, "config check reads the CA as the service would:\n{checked}");
}

#[tokio::test(flavor = "multi_thread")]
async fn slack_tokens_and_the_bot_in_every_routed_channel_are_checked() {
    let slack = FakeSlack::start(&[("C0ALERTS", "alerts"), ("C0DB", "db")]).await;
    slack.remove_bot_from("C0DB");
    let Some(nagios) = NagiosInstance::start(NagiosOptions::default()) else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let chat = format!("{}\n[[route]]\nhosts = [\"db*\"]\nchannel = \"C0DB\"\n", slack_chat(&slack.api_url()));
    let config = write_config(dir.path(), &nagios.hagios_section(), &chat, "oncall");
    let me = me();
    let run = |env: Vec<(&'static str, &'static str)>| {
        let (config, me) = (config.clone(), me.clone());
        tokio::task::spawn_blocking(move || hagios(&["doctor"], &config, Some(&me), &env))
    };

    let (code, report) = run(SLACK_TOKENS.to_vec()).await.expect("doctor");
    assert_eq!(code, 1, "{report}");
    assert!(report.contains("OK   slack: signed in, ready to post and to receive messages"), "{report}");
    assert!(report.contains("OK   slack: the bot is in C0ALERTS"), "{report}");
    assert!(
        report.contains("FAIL slack: the bot is not in C0DB, so alerts cannot be posted there: invite it"),
        "{report}"
    );

    let wrong_app_token = vec![SLACK_TOKENS[0], ("SLACK_APP_TOKEN", "xapp-wrong")];
    let (code, report) = run(wrong_app_token).await.expect("doctor");
    assert_eq!(code, 1, "{report}");
    assert!(report.contains("FAIL slack: ") && report.contains("Socket Mode (app_token_env)"), "{report}");

    let wrong_bot_token = vec![("SLACK_BOT_TOKEN", "xoxb-wrong"), SLACK_TOKENS[1]];
    let (code, report) = run(wrong_bot_token).await.expect("doctor");
    assert_eq!(code, 1, "{report}");
    assert!(report.contains("FAIL slack: Slack refused the bot token"), "{report}");
}

#[test]
fn a_postgresql_store_is_checked_reachable_at_its_schema_and_who_leads_each_failure_with_its_fix() {
    let Some(postgres) = PostgresInstance::start(PostgresOptions::default()) else { return };
    let url = postgres.create_database();
    let database = url.rsplit('/').next().expect("a database name").to_owned();
    let deployment = Deployment::new();
    let config = deployment.bot_config();
    let text = std::fs::read_to_string(&config).expect("read the bot's configuration");
    std::fs::write(&config, text.replacen("[store]\n", &format!("[store]\nurl = \"{url}\"\n"), 1)).expect("write");
    let password = [("HAGIOS_STORE_PASSWORD", PostgresInstance::PASSWORD)];
    // No password in the environment: said, and the server refuses the connection.
    let (code, report) = hagios(&["doctor"], &config, None, &[]);
    assert_eq!(code, 1, "{report}");
    let warned = lines(&report, "WARN");
    assert!(warned.iter().any(|line| line.contains("HAGIOS_STORE_PASSWORD is not set")), "{report}");
    let failed = lines(&report, "FAIL");
    assert!(
        failed.iter().any(|line| line.contains("cannot connect to the state database") && line.contains("password")),
        "{report}"
    );

    // An empty database: the first bot creates the tables.
    let (code, report) = hagios(&["doctor"], &config, None, &password);
    assert_eq!(code, 0, "{report}");
    assert!(lines(&report, "OK  ").iter().any(|line| line.contains("answers")), "{report}");
    assert!(lines(&report, "WARN").iter().any(|line| line.contains("is empty")), "{report}");

    // Migrated (as any hagios command on the store does), with nobody leading yet.
    assert_eq!(hagios(&["audit"], &config, None, &password).0, 0);
    let (code, report) = hagios(&["doctor"], &config, None, &password);
    assert_eq!(code, 0, "{report}");
    assert!(lines(&report, "OK  ").iter().any(|line| line.contains("the one this hagios writes")), "{report}");
    assert!(lines(&report, "WARN").iter().any(|line| line.contains("no bot has led yet")), "{report}");

    // A bot leads; then its lease ran out.
    let now_ms = "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)";
    postgres.psql_in(
        &database,
        &format!("INSERT INTO leases (name, holder, epoch, expires_at) VALUES ('bot', 'bot1:4242:cafe', 3, {now_ms} + 60000)"),
    );
    let (_, report) = hagios(&["doctor"], &config, None, &password);
    assert!(lines(&report, "OK  ").iter().any(|line| line.contains("bot bot1:4242:cafe leads (term 3)")), "{report}");
    postgres.psql_in(&database, &format!("UPDATE leases SET expires_at = {now_ms} - 5000"));
    let (_, report) = hagios(&["doctor"], &config, None, &password);
    assert!(
        lines(&report, "WARN").iter().any(|line| line.contains("no bot leads") && line.contains("ran out")),
        "{report}"
    );

    // A schema written by a newer hagios.
    postgres.psql_in(&database, "UPDATE hagios_schema SET version = 99");
    let (code, report) = hagios(&["doctor"], &config, None, &password);
    assert_eq!(code, 1, "{report}");
    assert!(lines(&report, "FAIL").iter().any(|line| line.contains("schema version 99")), "{report}");

    // The server down.
    postgres.stop();
    let (code, report) = hagios(&["doctor"], &config, None, &password);
    assert_eq!(code, 1, "{report}");
    assert!(
        lines(&report, "FAIL")
            .iter()
            .any(|line| line.contains("cannot connect") && line.contains("that the server is up")),
        "{report}"
    );
}
