//! Typed actions as Icinga 2 API requests. Objects are selected by constant filters whose names
//! travel in `filter_vars`, and free text (comments, authors) as JSON strings: nothing typed in
//! chat is ever spliced into a filter expression. Comments are cleaned as on Nagios (and the
//! author arrives cleaned, `hagios_domain::free_text`): Icinga hands both to notification
//! commands as `$notification.comment$`/`$notification.author$`, which sites run through a shell
//! too.

use hagios_domain::free_text::clean_text;
use hagios_domain::{Action, DowntimeTarget, ObjectRef};
use serde_json::{json, Map, Value};

/// One API call that carries out (part of) an action.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ApiRequest {
    /// `POST /v1/actions/NAME`.
    Action { name: &'static str, body: Value },
    /// `POST /v1/objects/KIND` with `attrs`: an attribute change.
    Modify { kind: &'static str, body: Value },
    /// `PUT /v1/objects/KIND/NAME`: a new object.
    Create { kind: &'static str, name: String, body: Value },
    /// `DELETE /v1/objects/KIND/NAME?cascade=1`.
    Delete { kind: &'static str, name: String },
}

/// The selection of exactly one host or service: (object type, filter, filter variables).
pub(crate) fn select(object: &ObjectRef) -> Map<String, Value> {
    let selection = match &object.service {
        Some(service) => json!({
            "type": "Service",
            "filter": "host.name == hagios_host && service.name == hagios_service",
            "filter_vars": {"hagios_host": object.host, "hagios_service": service},
        }),
        None => json!({
            "type": "Host",
            "filter": "host.name == hagios_host",
            "filter_vars": {"hagios_host": object.host},
        }),
    };
    match selection {
        Value::Object(map) => map,
        _ => unreachable!("json! of an object literal is an object"),
    }
}

/// `select(object)` plus `fields`.
fn body(object: &ObjectRef, fields: Value) -> Value {
    let mut body = select(object);
    if let Value::Object(fields) = fields {
        body.extend(fields);
    }
    Value::Object(body)
}

fn action(name: &'static str, body: Value) -> ApiRequest {
    ApiRequest::Action { name, body }
}

/// The API calls for `action`, on behalf of `author` (as stored).
pub(crate) fn requests(action_to_do: &Action, author: &str) -> Vec<ApiRequest> {
    match action_to_do {
        Action::Acknowledge { target, comment, sticky, notify, persistent, expire } => {
            let mut fields = json!({
                "author": author, "comment": clean_text(comment),
                "sticky": sticky, "notify": notify, "persistent": persistent,
            });
            if let Some(expire) = expire {
                fields["expiry"] = json!(expire);
            }
            vec![action("acknowledge-problem", body(target, fields))]
        }
        Action::RemoveAcknowledgement { target } => vec![action("remove-acknowledgement", body(target, json!({})))],
        Action::ScheduleDowntime { target, span, comment } => {
            let mut fields = json!({
                "author": author, "comment": clean_text(comment),
                "start_time": span.start, "end_time": span.end,
                "fixed": span.fixed, "duration": span.duration,
            });
            if let DowntimeTarget::HostAndServices(_) = target {
                fields["all_services"] = json!(true);
            }
            vec![action("schedule-downtime", body(&target.object(), fields))]
        }
        Action::DeleteDowntime { id } => vec![action(
            "remove-downtime",
            json!({
                "type": "Downtime",
                "filter": "downtime.legacy_id == hagios_id",
                "filter_vars": {"hagios_id": id},
            }),
        )],
        Action::Recheck { target } => vec![action("reschedule-check", body(target, json!({"force": true})))],
        Action::EnableNotifications { target } | Action::DisableNotifications { target } => {
            let enabled = matches!(action_to_do, Action::EnableNotifications { .. });
            let mut body = select(target);
            let kind = if target.is_service() { "services" } else { "hosts" };
            body.remove("type");
            body.insert("attrs".into(), json!({"enable_notifications": enabled}));
            vec![ApiRequest::Modify { kind, body: Value::Object(body) }]
        }
        Action::AddHost { name, address, template } => vec![ApiRequest::Create {
            kind: "hosts",
            name: name.clone(),
            body: json!({"templates": [template], "attrs": {"address": address}}),
        }],
        Action::RemoveHost { name } => vec![ApiRequest::Delete { kind: "hosts", name: name.clone() }],
        Action::AddComment { target, comment, .. } => {
            vec![action("add-comment", body(target, json!({"author": author, "comment": clean_text(comment)})))]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hagios_domain::DowntimeSpan;

    fn only(action: &Action) -> ApiRequest {
        let [request]: [ApiRequest; 1] = requests(action, "alice").try_into().expect("exactly one request");
        request
    }

    #[test]
    fn names_and_text_travel_as_json_values_never_inside_the_filter() {
        let evil = "web01\" || true || \"";
        let ack = Action::Acknowledge {
            target: ObjectRef::service(evil, "HTTP\"; drop"),
            comment: "it's \"fine\" $x$".into(),
            sticky: true,
            notify: false,
            persistent: false,
            expire: Some(1_900_000_000),
        };
        let ApiRequest::Action { name, body } = only(&ack) else { panic!("an action request") };
        assert_eq!(name, "acknowledge-problem");
        assert_eq!(body["filter"], "host.name == hagios_host && service.name == hagios_service");
        assert_eq!(body["filter_vars"]["hagios_host"], evil);
        assert_eq!(body["filter_vars"]["hagios_service"], "HTTP\"; drop");
        assert_eq!(body["comment"], "it’s ”fine” ＄x＄", "cleaned as on Nagios");
        assert_eq!(body["expiry"], 1_900_000_000);
        assert_eq!(body["type"], "Service");
    }

    #[test]
    fn comments_are_cleaned_as_on_nagios() {
        let note = Action::AddComment {
            target: ObjectRef::host("db01"),
            comment: "| id > /tmp/p # breaks quoting\\".into(),
            persistent: true,
        };
        let [ApiRequest::Action { body, .. }]: [ApiRequest; 1] =
            requests(&note, "a＼").try_into().expect("exactly one request")
        else {
            panic!("an action request")
        };
        assert_eq!((&body["author"], &body["comment"]), (&json!("a＼"), &json!("｜ id ＞ /tmp/p ＃ breaks quoting＼")));
    }

    #[test]
    fn host_and_services_downtime_is_one_call_with_all_services() {
        let span = DowntimeSpan { start: 10, end: 20, fixed: true, duration: 10 };
        let downtime = Action::ScheduleDowntime {
            target: DowntimeTarget::HostAndServices("db01".into()),
            span,
            comment: "x".into(),
        };
        let ApiRequest::Action { body, .. } = only(&downtime) else { panic!("an action request") };
        assert_eq!(body["type"], "Host");
        assert_eq!(body["all_services"], true);
        assert_eq!((body["start_time"].clone(), body["end_time"].clone()), (json!(10), json!(20)));
    }

    #[test]
    fn notifications_are_an_attribute_change_without_a_type() {
        let mute = Action::DisableNotifications { target: ObjectRef::host("db01") };
        let ApiRequest::Modify { kind, body } = only(&mute) else { panic!("a modify request") };
        assert_eq!(kind, "hosts");
        assert_eq!(body["attrs"]["enable_notifications"], false);
        assert!(body.get("type").is_none());
    }
}
