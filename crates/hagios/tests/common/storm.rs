//! A storm of distinct alerts spread over ten Slack channels: Slack's pace is about one message
//! per second per channel, and hagios keeps to it, so alerts are routed to ten channels by their
//! last digit and the storm takes seconds, not minutes. One message per alert (no grouping): the
//! count at the fake is then the count of alerts.

const CHANNELS: u32 = 10;

/// The service of alert `number`.
pub fn service(number: usize) -> String {
    format!("Chaos {number:05}")
}

fn channel(digit: u32) -> (String, String) {
    (format!("C0CHAOS{digit}"), format!("chaos{digit}"))
}

/// The storm's channels and the default channel `C0ALERTS`, as `(id, name)` for the fake Slack.
pub fn channels() -> Vec<(String, String)> {
    (0..CHANNELS).map(channel).chain([("C0ALERTS".into(), "alerts".into())]).collect()
}

/// The routes that spread the storm over its channels.
pub fn routes() -> String {
    (0..CHANNELS)
        .map(|digit| {
            format!(
                "[[route]]\nservices = [\"Chaos *{digit}\"]\nchannel = \"{}\"\ngrouping = false\n",
                channel(digit).0
            )
        })
        .collect()
}
