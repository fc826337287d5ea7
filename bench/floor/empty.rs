//! Floor for `bench/notify-vs-baseline.sh`: a program that does nothing, built like
//! `hagios-notify` (static, release), so its time is what fork + exec alone cost.

fn main() {}
