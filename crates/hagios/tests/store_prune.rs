//! `hagios store prune`: one prune of the state database from the command line, with what it
//! deleted printed for the operator.

use hagios_store::{Delivery, Store};
use std::process::Command;

#[test]
fn store_prune_deletes_what_keep_no_longer_keeps_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let store = Store::open(&state).unwrap();
    let delivery = |at| Delivery { channel: "C".into(), message_id: "1".into(), at };
    store.record_delivery("today", &delivery(hagios_domain::unix_now())).unwrap();
    store.record_delivery("two-days-ago", &delivery(hagios_domain::unix_now() - 2 * 86_400)).unwrap();
    let config = dir.path().join("hagios.toml");
    std::fs::write(
        &config,
        format!(
            "[store]\npath = {:?}\nkeep = \"1d\"\n[nagios]\ncommand_file = \"/c\"\nstatus_file = \"/s\"\nobject_cache_file = \"/o\"\n",
            state
        ),
    )
    .unwrap();

    let output =
        Command::new(env!("CARGO_BIN_EXE_hagios")).args(["store", "prune", "--config"]).arg(&config).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout} {}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.starts_with("deleted 1 delivery, 0 incidents"), "{stdout}");
    assert!(store.delivered("two-days-ago").unwrap().is_none());
    assert!(store.delivered("today").unwrap().is_some());
}
