//! Per-person command rate limits: how many commands one person may send in a while, stricter
//! for people without a role. A flood from one account is answered "slow down" before anything
//! is parsed, authorized or read from the monitoring system.

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use hagios_domain::plural;
use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

/// `N/DURATION` (`20/1m`): at most N commands in any DURATION, N at once after a quiet DURATION.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub commands: NonZeroU32,
    pub per: Duration,
}

impl RateLimit {
    /// What people holding a role may send unless configured otherwise.
    pub const WITH_ROLE: RateLimit = RateLimit { commands: NonZeroU32::new(20).unwrap(), per: MINUTE };
    /// What people without a role (read commands only) may send unless configured otherwise.
    pub const WITHOUT_ROLE: RateLimit = RateLimit { commands: NonZeroU32::new(5).unwrap(), per: MINUTE };

    fn quota(self) -> Quota {
        // One command back every `per / commands`; never zero, as `per` is at least a second.
        let interval = (self.per / self.commands.get()).max(Duration::from_nanos(1));
        Quota::with_period(interval)
            .map_or_else(|| Quota::per_second(self.commands), |quota| quota.allow_burst(self.commands))
    }
}

const MINUTE: Duration = Duration::from_secs(60);

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.commands, humantime::format_duration(self.per))
    }
}

impl FromStr for RateLimit {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let wrong = || format!("`{text}` is not a rate limit like \"20/1m\" (commands per duration)");
        let (count, per) = text.split_once('/').ok_or_else(wrong)?;
        let commands = count.trim().parse::<NonZeroU32>().map_err(|_| wrong())?;
        let per = humantime::parse_duration(per.trim()).map_err(|_| wrong())?;
        if per < Duration::from_secs(1) || per > Duration::from_secs(86_400) {
            return Err(format!("`{text}`: the duration of a rate limit is between 1s and 1d"));
        }
        Ok(RateLimit { commands, per })
    }
}

/// People whose budgets are kept before old ones are forgotten; a full budget needs no entry.
const PEOPLE_KEPT: usize = 10_000;

/// The budgets of everyone who sent commands lately.
pub(crate) struct Limits {
    with_role: (RateLimit, DefaultKeyedRateLimiter<String>),
    without_role: (RateLimit, DefaultKeyedRateLimiter<String>),
}

/// A command refused for going over the sender's limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SlowDown {
    pub limit: RateLimit,
    pub holds_a_role: bool,
    pub wait: Duration,
}

impl fmt::Display for SlowDown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whose = if self.holds_a_role { "" } else { " without a role" };
        let RateLimit { commands, per } = self.limit;
        // Whole seconds, rounded up: "try again in 0s" would be refused again.
        let seconds = self.wait.as_secs() + u64::from(self.wait.subsec_nanos() > 0);
        write!(
            f,
            "slow down: at most {} per {}{whose}; try again in {seconds}s",
            plural(commands.get() as usize, "command"),
            humantime::format_duration(per)
        )
    }
}

impl Limits {
    pub(crate) fn new(with_role: RateLimit, without_role: RateLimit) -> Self {
        Limits {
            with_role: (with_role, RateLimiter::keyed(with_role.quota())),
            without_role: (without_role, RateLimiter::keyed(without_role.quota())),
        }
    }

    /// Counts one command from `person`; refused when their budget is spent.
    pub(crate) fn check(&self, person: &str, holds_a_role: bool) -> Result<(), SlowDown> {
        let (limit, limiter) = if holds_a_role { &self.with_role } else { &self.without_role };
        if limiter.len() > PEOPLE_KEPT {
            limiter.retain_recent();
        }
        limiter.check_key(&person.to_owned()).map_err(|not_until| SlowDown {
            limit: *limit,
            holds_a_role,
            wait: not_until.wait_time_from(DefaultClock::default().now()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_read_as_commands_per_duration() {
        let limit: RateLimit = "20/1m".parse().unwrap();
        assert_eq!((limit.commands.get(), limit.per), (20, MINUTE));
        assert_eq!(limit.to_string(), "20/1m");
        assert_eq!(" 3 / 1h ".parse::<RateLimit>().unwrap().per, Duration::from_secs(3600));
        for bad in ["20", "0/1m", "-1/1m", "20/", "20/soon", "x/1m", "20/1ms", "20/2d"] {
            assert!(bad.parse::<RateLimit>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_person_over_the_limit_is_told_to_slow_down_and_others_are_not() {
        let limits = Limits::new("3/1h".parse().unwrap(), "1/1h".parse().unwrap());
        for _ in 0..3 {
            assert_eq!(limits.check("alice", true), Ok(()));
        }
        let slow = limits.check("alice", true).unwrap_err();
        assert!(slow.wait > Duration::from_secs(1000), "{slow:?}");
        assert!(slow.to_string().starts_with("slow down: at most 3 commands per 1h; try again in "), "{slow}");
        assert_eq!(limits.check("bob", true), Ok(()), "budgets are per person");
        assert_eq!(limits.check("mallory", false), Ok(()));
        let stranger = limits.check("mallory", false).unwrap_err();
        assert!(stranger.to_string().contains("at most 1 command per 1h without a role"), "{stranger}");
    }
}
