//! Mirroring end to end against a real, private Nagios: acknowledgements, comments and downtimes
//! written to the command FIFO directly, as the CGI does, reach the incident's thread and its parent once —
//! also when Nagios sends its own ACKNOWLEDGEMENT notification for the same acknowledgement, when
//! the acknowledgement was typed in chat, and when the change was made while hagios was down.

mod common;

use common::{Daemon as Bot, PATIENCE};

/// Thread replies in the thread of message `parent` whose header contains `needle`.
fn replies(screen: &str, parent: &str, needle: &str) -> usize {
    let thread = format!(" in thread #{parent}]");
    screen.lines().filter(|line| line.starts_with("[#") && line.contains(&thread) && line.contains(needle)).count()
}

#[test]
fn acknowledgements_and_comments_made_in_the_cgi_join_the_thread_once() {
    let Some(site) = common::start_site("[terminal]\nuser = \"oncall\"", "oncall") else { return };
    let mut bot = Bot::start("run", &site.config);
    site.nagios.submit_service_result("web01", "HTTP", 2, "CRITICAL - down");
    let alert = bot.wait_for_message("PROBLEM web01!HTTP is CRITICAL");

    // Acknowledged without a notification (notify=0): only status.dat shows it.
    site.nagios.submit_raw("ACKNOWLEDGE_SVC_PROBLEM;web01;HTTP;2;0;1;cgi-user;on it via the CGI");
    bot.wait_for_text("acknowledged (CRITICAL) by cgi-user: on it via the CGI");
    bot.wait_for_text(&format!("[#{alert} edited]"));
    site.nagios.submit_raw("ADD_SVC_COMMENT;web01;HTTP;1;cgi-user;replaced the disk");
    bot.wait_for_text("comment (CRITICAL) by cgi-user: replaced the disk");
    site.nagios.submit_raw("REMOVE_SVC_ACKNOWLEDGEMENT;web01;HTTP");
    bot.wait_for_text("custom notification (CRITICAL): acknowledgement removed");

    // A downtime for later (Nagios notifies only once it starts), then deleted before it starts.
    let start = hagios_domain::unix_now() + 3600;
    let end = start + 3600;
    site.nagios.submit_raw(&format!("SCHEDULE_SVC_DOWNTIME;web01;HTTP;{start};{end};1;0;3600;cgi-user;kernel update"));
    bot.wait_for_text("downtime scheduled (CRITICAL) by cgi-user: kernel update");
    let status = site.nagios.wait_for_state(PATIENCE, |status| !status.downtimes.is_empty()).expect("downtime");
    site.nagios.submit_raw(&format!("DEL_SVC_DOWNTIME;{}", status.downtimes[0].id));
    bot.wait_for_text("downtime cancelled (CRITICAL) by cgi-user: kernel update");

    // Acknowledged with a notification: status.dat and Nagios' notification both tell it.
    site.nagios.submit_raw("ACKNOWLEDGE_SVC_PROBLEM;web01;HTTP;2;1;1;cgi-user;second look");
    bot.wait_for_text("acknowledged (CRITICAL) by cgi-user: second look");
    site.nagios.wait_for_log(PATIENCE, ";ACKNOWLEDGEMENT").expect("Nagios notified the acknowledgement");

    // Acknowledged from chat: Nagios notifies, status.dat shows it, the reply confirms it.
    site.nagios.submit_service_result("db01", "MySQL", 2, "CRITICAL - too many connections");
    let db = bot.wait_for_message("PROBLEM db01!MySQL is CRITICAL");
    bot.type_line(&format!("#{db} ack looking"));
    bot.wait_for_text("acknowledged db01!MySQL — confirmed by Nagios");
    bot.wait_for_text("acknowledged (CRITICAL) by oncall: looking");

    // A later alert drains everything spooled before it.
    site.nagios.submit_service_result("db01", "Load", 2, "CRITICAL - load 99");
    bot.wait_for_message("PROBLEM db01!Load is CRITICAL");
    common::wait_spooled(&site.spool, 0);
    let screen = bot.screen();
    assert_eq!(replies(&screen, &alert, "ACKNOWLEDGEMENT web01!HTTP"), 2, "{screen}");
    assert_eq!(replies(&screen, &alert, "COMMENT web01!HTTP"), 1, "{screen}");
    assert_eq!(replies(&screen, &alert, "CUSTOM web01!HTTP"), 1, "{screen}");
    assert_eq!(replies(&screen, &alert, "DOWNTIMESCHEDULED web01!HTTP"), 1, "{screen}");
    assert_eq!(replies(&screen, &alert, "DOWNTIMECANCELLED web01!HTTP"), 1, "{screen}");
    assert_eq!(replies(&screen, &db, "ACKNOWLEDGEMENT db01!MySQL"), 1, "{screen}");
    // A comment on an object without an incident is not posted on its own.
    site.nagios.submit_raw("ADD_SVC_COMMENT;web01;Disk;1;cgi-user;no incident here");
    site.nagios.submit_service_result("web01", "HTTP Load", 2, "CRITICAL - load 42");
    bot.wait_for_message("PROBLEM web01!HTTP Load is CRITICAL");
    assert!(!bot.screen().contains("no incident here"), "{}", bot.screen());

    // Changes made while hagios is down are found after its restart against what it last saw;
    // nothing earlier is mirrored again.
    bot.kill();
    site.nagios.submit_raw("ADD_SVC_COMMENT;web01;HTTP;1;cgi-user;while hagios was down");
    site.nagios
        .wait_for_state(PATIENCE, |status| status.comments.iter().any(|c| c.text == "while hagios was down"))
        .expect("Nagios took the comment");
    let bot = Bot::start("run", &site.config);
    bot.wait_for_text("comment (CRITICAL) by cgi-user: while hagios was down");
    site.nagios.submit_raw("ADD_SVC_COMMENT;web01;HTTP;1;cgi-user;after the restart");
    bot.wait_for_text("comment (CRITICAL) by cgi-user: after the restart");
    site.nagios.submit_service_result("db01", "Load", 0, "OK - load 1");
    bot.wait_for_message("RECOVERY db01!Load is OK");
    let screen = bot.screen();
    assert_eq!(replies(&screen, &alert, "COMMENT web01!HTTP"), 2, "{screen}");
    assert_eq!(replies(&screen, &alert, "ACKNOWLEDGEMENT web01!HTTP"), 0, "{screen}");
    assert_eq!(replies(&screen, &alert, "CUSTOM web01!HTTP"), 0, "{screen}");
}
