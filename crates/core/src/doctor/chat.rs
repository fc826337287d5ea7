//! The doctor's chat checks: each platform's credentials are accepted, and the bot is in every
//! channel or room alerts go to (the default one and each route's).

use super::Finding;
use crate::config::Config;
use hagios_chat::platform::{FromNow, Place};
use hagios_chat::PlatformConfig;
use hagios_domain::Permit;

pub(super) async fn examine(config: &Config) -> Vec<Finding> {
    let mut findings = Vec::new();
    for section in &config.platforms {
        findings.extend(platform(config, section).await);
    }
    findings
}

async fn platform(config: &Config, section: &PlatformConfig) -> Vec<Finding> {
    let platform = section.platform();
    // The doctor posts nothing, so it needs no lead among several bots.
    let place = Place { resume: std::sync::Arc::new(FromNow), first_message_number: 1, permit: Permit::always() };
    let chat = match section.section().connect(&place).await {
        Ok(chat) => chat,
        Err(e) => return vec![Finding::fail(format!("{platform}: {e}"))],
    };
    let mut findings = vec![Finding::of(
        format!("{platform}: signed in, ready to post and to receive messages"),
        chat.can_listen().await.map_err(|e| format!("{platform}: {e}")),
    )];
    let mut targets = vec![section.section().default_target().to_owned()];
    for target in config.routes.iter().filter_map(|route| route.targets.get(&platform)) {
        if !targets.contains(target) {
            targets.push(target.clone());
        }
    }
    for target in targets {
        findings.extend(match chat.is_member(&target).await {
            Ok(None) => None,
            Ok(Some(true)) => Some(Finding::ok(format!("{platform}: the bot is in {target}"))),
            Ok(Some(false)) => Some(Finding::fail(format!(
                "{platform}: the bot is not in {target}, so alerts cannot be posted there: invite it (in Slack \
                 `/invite @hagios` in the channel)"
            ))),
            Err(e) => Some(Finding::fail(format!("{platform}: {target}: {e}"))),
        });
    }
    findings
}
