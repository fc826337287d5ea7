//! `hagios run` end to end against a real, private Nagios (hagios-testkit): Nagios runs
//! `hagios notify`, the bot delivers from the spool to the terminal chat, and commands typed on
//! the terminal change Nagios, each ending in a final word from Nagios' own evidence — at the
//! lab's cadence and at Debian's stock one (status.dat every 10 s).

mod common;

use common::{count_alerts, message_id, Daemon as Bot, HAGIOS, PATIENCE};
use hagios_testkit::{wait_until, NagiosInstance, NagiosOptions, Quoting, ShellCapture};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// A private Nagios whose notifications go through `hagios notify` into a spool, plus the
/// configuration a bot needs to serve it.
struct Site {
    nagios: NagiosInstance,
    config: PathBuf,
    spool: PathBuf,
    _dir: tempfile::TempDir,
}

impl Site {
    /// `terminal_user` is who terminal input is attributed to; only `oncall` has roles.
    fn start(terminal_user: &str) -> Option<Site> {
        Site::start_with(terminal_user, NagiosOptions::default())
    }

    /// [`Site::start`] with a Nagios started with `options`.
    fn start_with(terminal_user: &str, options: NagiosOptions) -> Option<Site> {
        Some(Site::of(common::start_site_with(&Site::chat(terminal_user), "oncall", options)?))
    }

    /// [`Site::start`] whose notification command also runs the shell line `also`.
    fn also_running(terminal_user: &str, also: &str) -> Option<Site> {
        Some(Site::of(common::start_site_also_running(&Site::chat(terminal_user), "oncall", also)?))
    }

    fn chat(terminal_user: &str) -> String {
        format!("[terminal]\nuser = \"{terminal_user}\"")
    }

    fn of(site: common::NagiosSite) -> Site {
        Site { nagios: site.nagios, config: site.config, spool: site.spool, _dir: site.dir }
    }

    fn bot(&self) -> Bot {
        Bot::start("run", &self.config)
    }

    fn spooled(&self) -> usize {
        common::spooled(&self.spool)
    }

    fn audit(&self) -> String {
        let output = Command::new(HAGIOS).args(["audit", "--config"]).arg(&self.config).output().expect("hagios audit");
        assert!(output.status.success(), "hagios audit failed: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).expect("utf-8 audit")
    }
}

#[test]
fn alerts_reach_the_terminal_exactly_once_even_when_the_bot_is_killed() {
    let Some(site) = Site::start("oncall") else { return };
    let bot = site.bot();
    site.nagios.submit_service_result("web01", "HTTP", 2, "CRITICAL - connection refused");
    bot.wait_for_message("PROBLEM web01!HTTP is CRITICAL");
    bot.wait_for_text("CRITICAL - connection refused");
    let before_crash = bot.kill();

    // Alerts raised while the bot is down wait in the spool.
    site.nagios.submit_service_result("db01", "MySQL", 2, "CRITICAL - too many connections");
    site.nagios.submit_host_result("db01", 1, "DOWN - no route");
    wait_until(PATIENCE, || (site.spooled() >= 2).then_some(())).expect("both notifications spooled while down");

    let bot = site.bot();
    bot.wait_for_message("PROBLEM db01!MySQL is CRITICAL");
    bot.wait_for_message("PROBLEM db01 is DOWN");
    wait_until(PATIENCE, || (site.spooled() == 0).then_some(())).expect("spool drained after delivery");
    // The restarted bot must not repeat what the first one delivered, nor reuse its message ids.
    let after_restart = bot.screen();
    let everything = format!("{before_crash}{after_restart}");
    assert_eq!(count_alerts(&everything, "PROBLEM web01!HTTP is CRITICAL"), 1, "{everything}");
    assert_eq!(count_alerts(&everything, "PROBLEM db01!MySQL is CRITICAL"), 1, "{everything}");
    assert_eq!(count_alerts(&everything, "PROBLEM db01 is DOWN"), 1, "{everything}");
    let first_id = message_id(before_crash.lines().find(|line| line.starts_with("[#")).expect("a message"));
    assert!(!after_restart.contains(&format!("[#{first_id}]")), "message id reused after restart:\n{everything}");
}

#[test]
fn an_ack_typed_in_the_alert_thread_is_confirmed_by_nagios_and_threads_the_acknowledgement() {
    let Some(site) = Site::start("oncall") else { return };
    let mut bot = site.bot();
    site.nagios.submit_service_result("web01", "HTTP Load", 2, "CRITICAL - load 42");
    let alert = bot.wait_for_message("PROBLEM web01!HTTP Load is CRITICAL");

    // In the thread the target may be left out.
    bot.type_line(&format!("#{alert} ack looking into it"));
    bot.wait_for_text("acknowledged web01!HTTP Load — confirmed by Nagios");
    let status = site
        .nagios
        .wait_for_state(PATIENCE, |status| {
            status.services.get(&("web01".into(), "HTTP Load".into())).is_some_and(|view| view.acknowledged)
        })
        .expect("Nagios shows the acknowledgement");
    assert!(status.comments.iter().any(|comment| comment.text == "looking into it" && comment.author == "oncall"));

    // Nagios' own ACKNOWLEDGEMENT notification joins the incident: a reply in its thread and an
    // edit of the parent.
    bot.wait_for_message(&format!("in thread #{alert}] ACKNOWLEDGEMENT web01!HTTP Load"));
    bot.wait_for_text(&format!("[#{alert} edited]"));

    bot.type_line(&format!("#{alert} downtime 2h planned restart"));
    bot.wait_for_text("confirmed by Nagios");
    site.nagios
        .wait_for_state(PATIENCE, |status| {
            status.downtimes.iter().any(|downtime| {
                downtime.object.service.as_deref() == Some("HTTP Load") && downtime.comment == "planned restart"
            })
        })
        .expect("Nagios shows the downtime");

    let audit = site.audit();
    assert!(audit.contains(r#"oncall(oncall) allowed ack "ack looking into it""#), "{audit}");
    assert!(audit.contains("-> confirmed:"), "{audit}");
}

#[test]
fn an_unknown_user_is_read_only_and_the_refusal_is_audited() {
    let Some(site) = Site::start("stranger") else { return };
    let mut bot = site.bot();
    bot.type_line("ack web01 HTTP not mine to ack");
    bot.wait_for_text("refused: stranger may not `ack`");
    bot.type_line("status web01");
    bot.wait_for_text("web01 is UP");
    bot.wait_for_text("HTTP Load: OK");

    let status = std::fs::read_to_string(site.nagios.status_file()).expect("status.dat");
    assert!(!status.contains("problem_has_been_acknowledged=1"), "a refused ack reached Nagios");
    let audit = site.audit();
    assert!(audit.contains(r#"stranger(stranger) refused ack "ack web01 HTTP not mine to ack""#), "{audit}");
    assert!(audit.contains(r#"stranger(stranger) allowed status "status web01""#), "{audit}");
}

#[test]
fn a_command_while_nagios_is_stopped_says_so() {
    let Some(mut site) = Site::start("oncall") else { return };
    let mut bot = site.bot();
    site.nagios.stop();
    bot.type_line("recheck web01");
    bot.wait_for_text("Nagios is not running");
}

#[test]
fn at_debian_s_stock_cadence_every_command_from_chat_ends_in_a_final_word() {
    // Nagios as Debian ships it writes status.dat every 10 s; the [nagios] section names its
    // nagios.cfg and nothing else, as an operator writes it.
    let options = NagiosOptions { status_update_interval: Some(10), ..Default::default() };
    let Some(site) = Site::start_with("oncall", options) else { return };
    let mut bot = site.bot();
    // Up to two status.dat writes and the margin: 2 × 10 s + 5 s, with room for a busy machine.
    let final_word = Duration::from_secs(40);

    site.nagios.submit_service_result("web01", "HTTP", 2, "CRITICAL - connection refused");
    bot.wait_for_message("PROBLEM web01!HTTP is CRITICAL");
    bot.type_line("ack web01 HTTP on it");
    bot.wait_for_text_within(final_word, "acknowledged web01!HTTP — confirmed by Nagios (acknowledged web01!HTTP; ");
    // Answered at once with what is known, and that same reply edited to the final word.
    let waiting = bot.wait_for_message(
        "acknowledge web01!HTTP — sent to Nagios, waiting for it to confirm; it writes its state every 10 s, the \
         answer comes within 25 s",
    );
    bot.wait_for_text(&format!("[#{waiting} edited] acknowledged web01!HTTP — confirmed by Nagios"));

    // Disk is OK: Nagios reads the ack and drops it, and a status.dat written after that shows so.
    bot.type_line("ack web01 Disk mine");
    bot.wait_for_text_within(
        final_word,
        "acknowledge web01!Disk — not applied: web01!Disk is OK — it has no problem, and Nagios acknowledges only \
         problems",
    );

    bot.type_line("downtime web01 Disk 1h disk swap");
    bot.wait_for_text_within(final_word, "— confirmed by Nagios (downtime ");
    bot.type_line("comment web01 Disk swapped the disk");
    bot.wait_for_text_within(final_word, "— confirmed by Nagios (comment #");
    bot.type_line("recheck db01 MySQL");
    bot.wait_for_text_within(final_word, "— confirmed by Nagios (rechecked db01!MySQL: ");
    bot.type_line("mute web01 Disk");
    bot.wait_for_text_within(
        final_word,
        "muted web01!Disk — confirmed by Nagios (notifications disabled for web01!Disk; ",
    );
    bot.type_line("unmute web01 Disk");
    bot.wait_for_text_within(
        final_word,
        "unmuted web01!Disk — confirmed by Nagios (notifications enabled for web01!Disk; ",
    );

    bot.type_line("status");
    bot.wait_for_text(
        "commands: status.dat is written every 10 s (status_update_interval); a command's final word comes within \
         25 s; Nagios' log shows when it read a command",
    );
    let screen = bot.screen();
    assert!(!screen.contains("not yet confirmed"), "{screen}");
    let audit = site.audit();
    assert_eq!(audit.matches("-> confirmed:").count(), 6, "{audit}");
    assert_eq!(audit.matches("-> not applied: web01!Disk is OK").count(), 1, "{audit}");
}

#[test]
fn shell_attacks_typed_on_the_terminal_reach_nagios_and_its_notification_commands_inert() {
    let capture = ShellCapture::new();
    let marker = |n: usize| capture.marker(n);
    let also = capture.shell_line("$NOTIFICATIONAUTHOR$", "$NOTIFICATIONCOMMENT$");
    let Some(site) = Site::also_running("oncall", &also) else { return };
    let mut bot = site.bot();
    // Each comment would run `id > markerN` from a notification command quoting its macros one
    // way or the other, were it passed on raw (a trailing `\` swallows the closing `"`).
    let attacks = [
        ("HTTP", format!("x' | id > {} # \\", marker(1).display())),
        ("Disk", format!("$(id > {}) `id > {}` \\", marker(2).display(), marker(2).display())),
    ];
    for (service, comment) in &attacks {
        site.nagios.submit_service_result("web01", service, 2, "CRITICAL - test failure");
        let alert = bot.wait_for_message(&format!("PROBLEM web01!{service} is CRITICAL"));
        bot.type_line(&format!("#{alert} ack {comment}"));
        bot.wait_for_text(&format!("acknowledged web01!{service} — confirmed by Nagios"));
    }
    for (_, comment) in &attacks {
        let arrived = ["oncall".to_owned(), hagios_domain::free_text::clean_text(comment)];
        for quoting in [Quoting::Double, Quoting::Single] {
            capture.assert_called(quoting, &arrived, PATIENCE);
        }
    }
    assert_eq!(capture.markers_made(), Vec::<PathBuf>::new(), "injected commands ran");

    // The issue's own example: a comment ending in `\` is stored with a look-alike.
    bot.type_line("comment web01 HTTP breaks quoting\\");
    bot.wait_for_text("added to web01!HTTP");
    let stored = site.nagios.wait_for_state(PATIENCE, |status| {
        status.comments.iter().any(|comment| comment.text == "breaks quoting＼" && comment.author == "oncall")
    });
    assert!(stored.is_some(), "Nagios shows the comment with a look-alike for the backslash");
}

#[test]
fn a_file_it_cannot_read_stops_it_with_the_os_error_said_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A folder where the CA should be: unreadable as a file whoever runs the test, root included.
    let ca_folder = dir.path().join("ca.crt");
    std::fs::create_dir(&ca_folder).expect("mkdir");
    let icinga = format!(
        "[icinga]\nsite = \"test\"\nurl = \"https://localhost:5665\"\nuser = \"hagios\"\npassword_env = \"TEST_ICINGA_PASSWORD\"\nca_file = \"{}\"\n",
        ca_folder.display()
    );
    let config = common::write_config(dir.path(), &icinga, "", "oncall");
    let output = Command::new(HAGIOS)
        .args(["run", "--config"])
        .arg(&config)
        .env("TEST_ICINGA_PASSWORD", "secret")
        .output()
        .expect("hagios run");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot read ca_file {}: Is a directory (os error 21)", ca_folder.display())),
        "{stderr}"
    );
    assert_eq!(stderr.matches("os error").count(), 1, "{stderr}");
}
