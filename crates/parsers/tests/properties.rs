//! Property tests: no input makes either parser panic, and status data survives a trip through
//! the text format Nagios writes.

use hagios_domain::{Comment, CommentKind, Downtime, HostView, ObjectRef, ServiceView, State, Status};
use hagios_parsers::nagios::{objects, status, ParseError};
use proptest::prelude::*;
use std::fmt::Write;

/// Errors must point at a line that exists.
fn check_line(text: &str, result: Result<(), ParseError>) -> Result<(), TestCaseError> {
    if let Err(err) = result {
        prop_assert!((1..=text.split('\n').count()).contains(&err.line), "{err}");
    }
    Ok(())
}

/// Lines shaped like both formats, so that random input reaches deep into the parsers.
fn line_soup() -> impl Strategy<Value = String> {
    let fragment = prop_oneof![
        prop::sample::select(vec![
            "info {",
            "hoststatus {",
            "servicestatus {",
            "hostcomment {",
            "servicedowntime {",
            "nonsense {",
            "define host {",
            "define service {",
            "define hostgroup {",
            "define command {",
            "\t}",
            "}",
            "",
            "# comment",
            "\thost_name=h",
            "\tservice_description=s",
            "\tcurrent_state=2",
            "\tcurrent_state=x",
            "\thas_been_checked=0",
            "\tlong_plugin_output=a\\nb\\",
            "\tcreated=",
            "\thost_name\th",
            "\tservice_description\ts",
            "\thostgroup_name\tg",
            "\tmembers\th,,i",
            "\thostgroups\t,g",
        ])
        .prop_map(str::to_owned),
        "[^\n]{0,12}",
    ];
    (prop::collection::vec(fragment, 0..40), any::<bool>())
        .prop_map(|(lines, crlf)| lines.join(if crlf { "\r\n" } else { "\n" }))
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        check_line(&text, status::parse(&text).map(drop))?;
        check_line(&text, objects::parse(&text).map(drop))?;
    }

    #[test]
    fn line_soup_never_panics(text in line_soup()) {
        check_line(&text, status::parse(&text).map(drop))?;
        check_line(&text, objects::parse(&text).map(drop))?;
    }

    #[test]
    fn status_round_trips(status in status()) {
        let text = render(&status);
        prop_assert_eq!(status::parse(&text), Ok(status), "{}", text);
    }
}

fn name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9 ._=-]{0,12}"
}

/// Values may hold anything but a line break; `=`, braces and `#` included.
fn text() -> impl Strategy<Value = String> {
    "[^\r\n]{0,24}"
}

fn long_text() -> impl Strategy<Value = String> {
    "([^\r\n]|\n|\\\\n){0,24}"
}

prop_compose! {
    fn host_view()(
        name in name(), checked in any::<bool>(), code in 0u8..3, output in text(), long_output in long_text(),
        acknowledged in any::<bool>(), in_downtime in any::<bool>(), notifications_enabled in any::<bool>(),
        last_check in any::<i64>(), last_state_change in any::<i64>(),
    ) -> HostView {
        let state = if checked { State::from_host_code(code) } else { State::Pending };
        HostView {
            name, state, output, long_output, has_been_checked: checked, acknowledged, in_downtime,
            notifications_enabled, last_check, last_state_change,
        }
    }
}

prop_compose! {
    fn service_view()(
        host in name(), description in name(), checked in any::<bool>(), code in 0u8..4, output in text(),
        long_output in long_text(), acknowledged in any::<bool>(), in_downtime in any::<bool>(),
        notifications_enabled in any::<bool>(), last_check in any::<i64>(), last_state_change in any::<i64>(),
    ) -> ServiceView {
        let state = if checked { State::from_service_code(code) } else { State::Pending };
        ServiceView {
            host, description, state, output, long_output, has_been_checked: checked, acknowledged, in_downtime,
            notifications_enabled, last_check, last_state_change,
        }
    }
}

fn object() -> impl Strategy<Value = ObjectRef> {
    (name(), proptest::option::of(name())).prop_map(|(host, service)| ObjectRef { host, service })
}

prop_compose! {
    fn comment()(
        id in any::<u64>(), object in object(), entry_time in any::<i64>(), author in text(), text in text(),
        persistent in any::<bool>(),
    ) -> Comment {
        Comment { id, object, entry_time, author, text, persistent, kind: CommentKind::User }
    }
}

prop_compose! {
    fn downtime()(
        id in any::<u64>(), object in object(), entry_time in any::<i64>(), start in any::<i64>(),
        end in any::<i64>(), fixed in any::<bool>(), duration in any::<i64>(), author in text(), comment in text(),
    ) -> Downtime {
        Downtime { id, object, entry_time, start, end, fixed, duration, author, comment, name: None }
    }
}

prop_compose! {
    fn status()(
        created in any::<i64>(),
        hosts in prop::collection::vec(host_view(), 0..5),
        services in prop::collection::vec(service_view(), 0..8),
        comments in prop::collection::vec(comment(), 0..4),
        downtimes in prop::collection::vec(downtime(), 0..4),
    ) -> Status {
        Status {
            created,
            hosts: hosts.into_iter().map(|h| (h.name.clone(), h)).collect(),
            services: services.into_iter().map(|s| ((s.host.clone(), s.description.clone()), s)).collect(),
            comments,
            downtimes,
        }
    }
}

/// Writes `status` the way Nagios 4 lays out status.dat, with some keys the parser must skip.
fn render(status: &Status) -> String {
    let escape = |s: &str| s.replace('\\', "\\\\").replace('\n', "\\n");
    let flag = |b: bool| u8::from(b);
    let code = |state: State| match state {
        State::Ok | State::Up | State::Pending => 0,
        State::Warning | State::Down => 1,
        State::Critical | State::Unreachable => 2,
        State::Unknown => 3,
    };
    let mut out = String::from("# NAGIOS STATUS FILE\n\n");
    let _ = write!(out, "info {{\n\tcreated={}\n\tversion=4.4.6\n\tlast_version=\n\t}}\n\n", status.created);
    out.push_str("programstatus {\n\tnagios_pid=1\n\tglobal_host_event_handler=\n\t}\n\n");
    for h in status.hosts.values() {
        let _ = write!(
            out,
            "hoststatus {{\n\thost_name={}\n\tcheck_command=check!a=b\n\thas_been_checked={}\n\tcurrent_state={}\n\
             \tplugin_output={}\n\tlong_plugin_output={}\n\tperformance_data=t=1s\n\tlast_check={}\n\
             \tlast_state_change={}\n\tnotifications_enabled={}\n\tproblem_has_been_acknowledged={}\n\
             \tscheduled_downtime_depth={}\n\t}}\n\n",
            h.name,
            flag(h.has_been_checked),
            code(h.state),
            h.output,
            escape(&h.long_output),
            h.last_check,
            h.last_state_change,
            flag(h.notifications_enabled),
            flag(h.acknowledged),
            if h.in_downtime { 2 } else { 0 },
        );
    }
    for s in status.services.values() {
        let _ = write!(
            out,
            "servicestatus {{\n\thost_name={}\n\tservice_description={}\n\thas_been_checked={}\n\
             \tcurrent_state={}\n\tplugin_output={}\n\tlong_plugin_output={}\n\tlast_check={}\n\
             \tlast_state_change={}\n\tnotifications_enabled={}\n\tproblem_has_been_acknowledged={}\n\
             \tscheduled_downtime_depth={}\n\tpercent_state_change=0.00\n\t}}\n\n",
            s.host,
            s.description,
            flag(s.has_been_checked),
            code(s.state),
            s.output,
            escape(&s.long_output),
            s.last_check,
            s.last_state_change,
            flag(s.notifications_enabled),
            flag(s.acknowledged),
            flag(s.in_downtime),
        );
    }
    let head = |out: &mut String, block: &str, object: &ObjectRef| {
        let prefix = if object.service.is_some() { "service" } else { "host" };
        let _ = write!(out, "{prefix}{block} {{\n\thost_name={}\n", object.host);
        if let Some(service) = &object.service {
            let _ = writeln!(out, "\tservice_description={service}");
        }
    };
    for c in &status.comments {
        head(&mut out, "comment", &c.object);
        let _ = write!(
            out,
            "\tentry_type=1\n\tcomment_id={}\n\tpersistent={}\n\tentry_time={}\n\tauthor={}\n\tcomment_data={}\n\t}}\n\n",
            c.id,
            flag(c.persistent),
            c.entry_time,
            c.author,
            c.text,
        );
    }
    for d in &status.downtimes {
        head(&mut out, "downtime", &d.object);
        let _ = write!(
            out,
            "\tdowntime_id={}\n\tcomment_id=9\n\tentry_time={}\n\tstart_time={}\n\tend_time={}\n\tfixed={}\n\
             \tduration={}\n\tauthor={}\n\tcomment={}\n\t}}\n\n",
            d.id,
            d.entry_time,
            d.start,
            d.end,
            flag(d.fixed),
            d.duration,
            d.author,
            d.comment,
        );
    }
    out
}
