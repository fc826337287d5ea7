//! The split deployment end to end with real, private Nagios instances: certificates from
//! `hagios certs`, `hagios agent` next to each Nagios (its notify_command spools into the
//! agent's spool), one `hagios bot` whose terminal chat we read and type into.

mod common;

use common::split::{Deployment, EVERYTHING};
use common::{http_get, notify_problem, Daemon, HAGIOS, PATIENCE, SLACK_TOKENS};
use hagios_fakeslack::FakeSlack;
use hagios_testkit::{free_port, wait_until};
use std::process::Command;
use std::time::Duration;

#[test]
fn an_alert_at_the_agent_reaches_the_bot_and_a_downtime_typed_there_is_confirmed_by_nagios() {
    let deployment = Deployment::new();
    let mut bot = Daemon::start("bot", &deployment.bot_config());
    // Its configuration names no [nagios] site: the agent serves its certificate's, `east`.
    let Some(east) = deployment.site("east", "", EVERYTHING) else { return };

    east.nagios.submit_service_result("db01", "MySQL", 2, "CRITICAL - replication stopped");
    let alert = bot.wait_for_message("PROBLEM db01!MySQL is CRITICAL");
    bot.wait_for_text("site east");
    wait_until(PATIENCE, || (east.spooled() == 0).then_some(())).expect("the agent's spool drains once stored");

    bot.type_line(&format!("#{alert} downtime 1h rebuilding the replica"));
    bot.wait_for_text("confirmed by Nagios");
    east.nagios
        .wait_for_state(PATIENCE, |status| {
            status.downtimes.iter().any(|downtime| {
                downtime.object.service.as_deref() == Some("MySQL")
                    && downtime.comment == "rebuilding the replica"
                    && downtime.author == "oncall"
            })
        })
        .expect("east's Nagios shows the downtime");
    // Nagios' own DOWNTIMESTART notification travels the same way into the alert's thread.
    bot.wait_for_message(&format!("in thread #{alert}] DOWNTIMESTART db01!MySQL"));
    // An acknowledgement made in east's CGI without a notification: the agent mirrors it.
    east.nagios.submit_raw("ACKNOWLEDGE_SVC_PROBLEM;db01;MySQL;2;0;1;cgi-user;seen in the CGI");
    bot.wait_for_message(&format!("in thread #{alert}] ACKNOWLEDGEMENT db01!MySQL"));
    bot.wait_for_text("acknowledged (CRITICAL) by cgi-user: seen in the CGI");
}

#[test]
fn at_debian_s_stock_cadence_the_agent_s_final_word_reaches_the_bot_confirmed_or_not_applied() {
    let deployment = Deployment::new();
    let mut bot = Daemon::start("bot", &deployment.bot_config());
    let Some(east) = deployment.stock_site("east", EVERYTHING) else { return };
    // The agent's deadline is 2 × 10 s + 5 s; the bot's command_timeout (30 s by default) is longer.
    let final_word = Duration::from_secs(40);

    east.nagios.submit_service_result("web01", "HTTP", 2, "CRITICAL - connection refused");
    bot.wait_for_message("PROBLEM web01!HTTP is CRITICAL");
    bot.type_line("ack web01 HTTP on it");
    // The agent's steps reach the bot: answered at once, and that same reply edited to the
    // final word, as in one process.
    let waiting = bot.wait_for_message(
        "acknowledge east:web01!HTTP — sent to Nagios, waiting for it to confirm; it writes its state every 10 s, \
         the answer comes within 25 s",
    );
    bot.wait_for_text_within(
        final_word,
        &format!("[#{waiting} edited] acknowledged east:web01!HTTP — confirmed by Nagios (acknowledged web01!HTTP; "),
    );
    bot.type_line("ack web01 Disk mine");
    bot.wait_for_text_within(
        final_word,
        "acknowledge east:web01!Disk — not applied: web01!Disk is OK — it has no problem, and Nagios acknowledges \
         only problems",
    );
    let screen = bot.screen();
    assert!(!screen.contains("not yet confirmed") && !screen.contains("did not answer"), "{screen}");
}

#[test]
fn through_slack_a_mention_is_answered_at_once_and_chat_update_gives_the_agent_s_final_word() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime for the fake Slack");
    let slack = runtime.block_on(FakeSlack::start(&[("C0ALERTS", "alerts")]));
    slack.add_user("oncall", "On Call");
    let deployment = Deployment::new();
    let config = deployment.bot_config_with(&common::slack_chat(&slack.api_url()));
    let _bot = Daemon::start_with_env("bot", &config, &SLACK_TOKENS);
    runtime.block_on(slack.wait_connected(PATIENCE));
    let Some(east) = deployment.stock_site("east", EVERYTHING) else { return };
    let said = |needle: &str| slack.bot_messages().into_iter().find(|message| shows(message, needle));

    east.nagios.submit_service_result("web01", "HTTP", 2, "CRITICAL - connection refused");
    runtime.block_on(slack.wait_until("the alert", PATIENCE, |_| said("PROBLEM web01!HTTP is CRITICAL").is_some()));
    let alert = said("PROBLEM web01!HTTP is CRITICAL").expect("the alert");
    slack.mention("oncall", "C0ALERTS", Some(&alert.ts), "ack looking into it");
    // Up to two status.dat writes and the margin: 2 × 10 s + 5 s, with room for a busy machine.
    let final_word = "acknowledged east:web01!HTTP — confirmed by Nagios (acknowledged web01!HTTP; ";
    runtime.block_on(slack.wait_until("the final word", Duration::from_secs(40), |_| said(final_word).is_some()));
    let reply = said(final_word).expect("the final word");
    assert_eq!(reply.thread_ts.as_deref(), Some(alert.ts.as_str()), "answered in the alert's thread");
    // Posted at once ("sent to Nagios, waiting …") and that same message edited to the final word.
    assert!(reply.edits >= 1, "{reply:#?}");
    let replies = slack.bot_messages().into_iter().filter(|m| shows(m, "east:web01!HTTP — ")).count();
    assert_eq!(replies, 1, "one reply to the command, edited");
}

/// Whether a Slack message shows `needle`, in its text or its blocks.
fn shows(message: &hagios_fakeslack::Message, needle: &str) -> bool {
    message.text.contains(needle) || message.blocks.as_ref().is_some_and(|blocks| blocks.to_string().contains(needle))
}

#[test]
fn an_agent_killed_while_a_command_waits_leaves_the_reply_saying_what_is_known_and_status_tells_the_rest() {
    let deployment = Deployment::new();
    let mut bot = Daemon::start("bot", &deployment.bot_config());
    // Nagios' own default cadence: a comment waits up to a minute for status.dat to show it,
    // long enough to kill the agent while it waits.
    let Some(mut east) = deployment.site_writing_every("east", EVERYTHING, 60) else { return };
    east.nagios.submit_service_result("web01", "HTTP", 2, "CRITICAL - connection refused");
    bot.wait_for_message("PROBLEM web01!HTTP is CRITICAL");

    bot.type_line("comment web01 Disk swapped the disk");
    let waiting = bot.wait_for_message("comment on east:web01!Disk — sent to Nagios, waiting for it to confirm");
    bot.wait_for_text(&format!(
        "[#{waiting} edited] comment on east:web01!Disk — Nagios read it (its log shows the command); waiting for its \
         state to show the effect"
    ));
    east.crash_and_restart_agent();
    bot.wait_for_text(&format!(
        "[#{waiting} edited] sent to Nagios: comment on east:web01!Disk; not yet confirmed (Nagios read it (its log \
         shows the command); then the agent at site `east` went away before the final word (it stopped, restarted or \
         lost the link)). `status east:web01!Disk` shows whether it took effect"
    ));
    // The restarted agent serves `status`, which shows the comment once Nagios writes its state.
    east.nagios
        .wait_for_state(Duration::from_secs(90), |status| {
            status.comments.iter().any(|comment| comment.text == "swapped the disk")
        })
        .expect("east's Nagios shows the comment");
}

#[test]
fn two_sites_each_get_their_own_commands_and_a_kind_a_site_forbids_is_refused_with_the_reason() {
    let deployment = Deployment::new();
    let mut bot = Daemon::start("bot", &deployment.bot_config());
    let host = |name: &str| format!("define host {{\n use hagios-host\n host_name {name}\n address 127.0.0.9\n}}\n");
    let Some(east) = deployment.site("east", &host("mail01"), EVERYTHING) else { return };
    let Some(west) = deployment.site("west", &host("app01"), r#"["recheck", "ack"]"#) else { return };

    east.nagios.submit_host_result("mail01", 1, "DOWN - mail gone");
    west.nagios.submit_host_result("app01", 1, "DOWN - app gone");
    bot.wait_for_message("PROBLEM mail01 is DOWN");
    bot.wait_for_message("PROBLEM app01 is DOWN");
    bot.type_line("problems");
    bot.wait_for_text("DOWN - mail gone");
    bot.wait_for_text("DOWN - app gone");

    bot.type_line("ack app01 west is on it");
    bot.wait_for_text("acknowledged west:app01 — confirmed by Nagios");
    west.nagios
        .wait_for_state(PATIENCE, |status| status.hosts.get("app01").is_some_and(|view| view.acknowledged))
        .expect("west's Nagios shows the acknowledgement");
    assert!(!east.nagios.log().contains("ACKNOWLEDGE_HOST_PROBLEM"), "the command went to the wrong site");

    bot.type_line("mute app01");
    bot.wait_for_text("site `west`: this site does not allow `mute` from chat");
    bot.type_line("mute mail01");
    bot.wait_for_text("confirmed by Nagios");
    bot.type_line("recheck web01");
    bot.wait_for_text("`web01` is at 2 sites (east, west); name the one you mean: `east:web01` or `west:web01`");
}

#[test]
fn the_same_host_and_downtime_id_at_two_sites_are_acted_on_only_where_named_and_a_silent_site_fails_closed() {
    let deployment = Deployment::new();
    let bot_config = deployment.bot_config();
    let mut bot = Daemon::start("bot", &bot_config);
    let Some(east) = deployment.site("east", "", EVERYTHING) else { return };
    let Some(mut west) = deployment.site("west", "", EVERYTHING) else { return };
    // Both Nagios have db01!MySQL, and each numbers its first downtime #1 (db01!Load here).
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs();
    for site in [&east, &west] {
        site.nagios
            .submit_raw(&format!("SCHEDULE_SVC_DOWNTIME;db01;Load;{now};{};1;0;7200;cgi-user;tuning", now + 7200));
        site.nagios
            .wait_for_state(PATIENCE, |status| status.downtimes.iter().any(|downtime| downtime.id == 1))
            .expect("downtime #1 scheduled");
    }
    // Each site's DOWNTIMESTART shows that both agents are connected.
    bot.wait_for_text("site east");
    bot.wait_for_text("site west");
    west.nagios.submit_service_result("db01", "MySQL", 2, "CRITICAL - west's replica is down");
    let alert = bot.wait_for_message("PROBLEM db01!MySQL is CRITICAL");

    bot.type_line("downtime cancel 1");
    bot.wait_for_text(
        "downtime #1 is at 2 sites (east, west); name the one you mean: `downtime cancel east:1` or `downtime cancel west:1`",
    );
    bot.type_line("ack db01 MySQL on it");
    bot.wait_for_text("`db01` is at 2 sites (east, west); name the one you mean: `east:db01` or `west:db01`");
    // Typed in west's alert thread, the command goes to west, whatever east has of that name.
    bot.type_line(&format!("#{alert} ack looking"));
    bot.wait_for_text("acknowledged west:db01!MySQL — confirmed by Nagios");
    bot.type_line("downtime cancel east:1");
    bot.wait_for_text("cancelled downtime #1 on east:db01!Load — confirmed by Nagios");
    let east_status =
        east.nagios.wait_for_state(PATIENCE, |status| status.downtimes.is_empty()).expect("east's #1 gone");
    assert!(!east_status.services[&("db01".to_owned(), "MySQL".to_owned())].acknowledged, "west's ack landed at east");
    let west_status = west.nagios.wait_for_state(PATIENCE, |status| !status.downtimes.is_empty()).expect("west");
    assert!(west_status.downtimes.iter().any(|downtime| downtime.id == 1), "east's cancel landed at west");
    assert!(west_status.services[&("db01".to_owned(), "MySQL".to_owned())].acknowledged);

    // West stops answering: its alert's commands, and names west might have too, go nowhere.
    west.stop_agent();
    bot.type_line(&format!("#{alert} recheck"));
    bot.wait_for_text("this alert is at site `west`, which did not answer");
    bot.type_line("recheck db01 MySQL");
    bot.wait_for_text("hagios cannot tell whether `db01` is there too; name the site (`east:db01`)");
    bot.type_line("recheck east:db01 MySQL");
    bot.wait_for_text("rechecked east:db01!MySQL");
    assert!(!west.nagios.log().contains("SCHEDULE_FORCED_SVC_CHECK"), "a command reached the silent site");
    assert_eq!(east.nagios.log().matches("SCHEDULE_FORCED_SVC_CHECK").count(), 1, "only the named recheck");
    // The refused attempts were audited like every command.
    let audit = common::audit(&bot_config);
    assert!(audit.contains("is at 2 sites") && audit.contains("did not answer"), "{audit}");
}

#[test]
fn notifications_wait_in_the_agent_spool_while_the_bot_is_down_and_all_arrive_once_it_is_back() {
    let deployment = Deployment::new();
    let bot_config = deployment.bot_config();
    let Some(east) = deployment.site("east", "", EVERYTHING) else { return };
    east.nagios.submit_service_result("db01", "MySQL", 2, "CRITICAL - too many connections");
    east.nagios.submit_host_result("db01", 1, "DOWN - no route");
    wait_until(PATIENCE, || (east.spooled() >= 2).then_some(())).expect("both notifications spooled while down");

    let bot = Daemon::start("bot", &bot_config);
    bot.wait_for_message("PROBLEM db01!MySQL is CRITICAL");
    bot.wait_for_message("PROBLEM db01 is DOWN");
    wait_until(PATIENCE, || (east.spooled() == 0).then_some(())).expect("spool drained after delivery");
    let before_crash = bot.kill();

    // The bot goes away again; the agent reconnects to the restarted bot.
    east.nagios.submit_service_result("web01", "HTTP", 2, "CRITICAL - refused");
    wait_until(PATIENCE, || (east.spooled() >= 1).then_some(())).expect("spooled while the bot is down");
    let bot = Daemon::start("bot", &bot_config);
    bot.wait_for_message("PROBLEM web01!HTTP is CRITICAL");
    let screen = bot.screen();
    assert!(!screen.contains("PROBLEM db01!MySQL"), "delivered twice after the restart:\n{before_crash}{screen}");
}

#[test]
fn config_check_refuses_a_site_name_the_agent_certificate_does_not_carry() {
    let deployment = Deployment::new();
    deployment.issue_agent("east");
    let files = "command_file = \"/var/lib/nagios4/rw/nagios.cmd\"\nstatus_file = \"/var/lib/nagios4/status.dat\"\n\
                 object_cache_file = \"/var/lib/nagios4/objects.cache\"\n";
    let check = |site: &str| {
        let config = deployment.agent_config("east", &format!("{site}{files}"), EVERYTHING);
        Command::new(HAGIOS).args(["config", "check", "--config"]).arg(config).output().expect("run hagios")
    };
    // The Nagios files are not there (config check says so too); what matters is the site.
    for same in ["", "site = \"east\"\n"] {
        let checked = check(same);
        let said = format!("{}{}", String::from_utf8_lossy(&checked.stdout), String::from_utf8_lossy(&checked.stderr));
        assert!(said.contains(": OK") || said.contains("the file is valid"), "{same:?}: {said}");
        assert!(!said.contains("issued for site"), "{same:?}: {said}");
    }
    let checked = check("site = \"EAST\"\n");
    let said = String::from_utf8_lossy(&checked.stderr);
    assert_eq!(checked.status.code(), Some(1), "{said}");
    assert!(said.contains("[nagios] site = \"EAST\" but the agent certificate"), "{said}");
    assert!(said.contains("is issued for site `east`") && said.contains("leave [nagios] site out"), "{said}");
}

#[test]
fn a_site_over_its_quota_at_the_bot_is_held_back_chat_hears_it_once_and_every_alert_arrives() {
    let deployment = Deployment::new();
    // Grouping keeps a storm's records at the bot for group_wait: three fill east's quota.
    let chat = "[terminal]\nuser = \"oncall\"\n[default_route]\ngroup_wait = \"3s\"\ngroup_interval = \"1s\"\n";
    let bot = Daemon::start("bot", &deployment.bot_config_keys("quota_records = 3\n", chat));
    let Some(east) = deployment.site("east", "", EVERYTHING) else { return };
    let services: Vec<String> = (0..9).map(|n| format!("svc{n:02}")).collect();
    for service in &services {
        assert!(notify_problem(&east.spool, "east", service).status.success());
    }
    bot.wait_for_message("CUSTOM hagios!link quota is WARNING");
    bot.wait_for_text("site `east` has 3 notifications");
    wait_until(PATIENCE * 3, || (east.spooled() == 0 && common::spooled(&deployment.bot_spool()) == 0).then_some(()))
        .expect("everything the agent held back reached chat");
    let screen = bot.screen();
    for service in &services {
        assert!(screen.contains(&format!("web01!{service}")), "{service} never arrived:\n{screen}");
    }
    assert_eq!(screen.matches("CUSTOM hagios!link quota").count(), 1, "one notice:\n{screen}");
}

#[test]
fn certificates_renewed_by_hagios_certs_work_once_agent_and_bot_restart_and_the_doctor_passes_them() {
    let deployment = Deployment::new();
    let listen = format!("127.0.0.1:{}", free_port());
    let bot_config =
        deployment.bot_config_with(&format!("[terminal]\nuser = \"oncall\"\n[metrics]\nlisten = \"{listen}\"\n"));
    let bot = Daemon::start("bot", &bot_config);
    let Some(mut east) = deployment.site("east", "", EVERYTHING) else { return };
    east.nagios.submit_service_result("db01", "MySQL", 2, "CRITICAL - replication stopped");
    bot.wait_for_message("PROBLEM db01!MySQL is CRITICAL");
    let expiry = || {
        let metrics = http_get(&listen, "/metrics").1;
        let value = |labels: &str| {
            let line = format!("hagios_certificate_expiry_timestamp_seconds{{{labels}}} ");
            metrics.lines().find_map(|found| found.strip_prefix(&line)?.parse::<f64>().ok())
        };
        (value("role=\"bot\",name=\"localhost\""), metrics)
    };
    let (Some(before), metrics) = expiry() else { panic!("the bot's certificate expiry is exported:\n{}", expiry().1) };
    assert!(metrics.contains("hagios_certificate_expiry_timestamp_seconds{role=\"ca\",name=\"hagios private CA "));

    // Both certificates are due within three years; the old pairs are kept beside the new.
    let pki = deployment.path("pki");
    let renewed = Command::new(HAGIOS).args(["certs", "renew", "--due", "1100d", "--dir"]).arg(&pki).output().unwrap();
    let said = String::from_utf8_lossy(&renewed.stdout);
    assert!(renewed.status.success(), "{said}{}", String::from_utf8_lossy(&renewed.stderr));
    assert!(said.contains("renewed `east`") && said.contains("renewed `localhost`"), "{said}");
    assert!(said.contains("systemctl restart hagios-bot") && said.contains("systemctl restart hagios-agent"), "{said}");
    let backups = std::fs::read_dir(&pki).unwrap().filter(|entry| {
        let name = entry.as_ref().unwrap().file_name().into_string().unwrap();
        name.starts_with("east.key.") || name.starts_with("localhost.key.")
    });
    assert_eq!(backups.count(), 2);

    bot.kill();
    let bot = Daemon::start("bot", &bot_config);
    east.crash_and_restart_agent();
    east.nagios.submit_service_result("web01", "HTTP", 2, "CRITICAL - refused");
    bot.wait_for_message("PROBLEM web01!HTTP is CRITICAL");
    let after = wait_until(PATIENCE, || expiry().0).expect("the restarted bot exports its certificate's expiry");
    assert!(after > before, "the renewed certificate expires later: {before} → {after}");

    let doctor = Command::new(HAGIOS).args(["doctor", "--config"]).arg(&bot_config).output().unwrap();
    let report = String::from_utf8_lossy(&doctor.stdout);
    assert!(report.contains("OK   [tls] cert") && report.contains("(bot `localhost`) chains to [tls] ca"), "{report}");
    assert!(!report.lines().any(|line| line.starts_with("FAIL [tls]") || line.starts_with("WARN [tls]")), "{report}");
}
