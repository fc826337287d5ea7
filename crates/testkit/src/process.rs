//! The processes of one Nagios instance, found through /proc by their command line, so that
//! stopping one instance never touches another test's Nagios.

use rustix::process::{kill_process, Pid, Signal};
use serde_json::Value;
use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

/// True while the process exists and has not exited (a zombie waiting to be reaped counts as
/// gone: in containers PID 1 may reap late).
pub(crate) fn is_alive(pid: i32) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
    // "pid (comm) S …": the command may contain ')' itself, so the state follows the last one.
    let state = stat.rfind(')').and_then(|end| stat[end + 1..].trim_start().chars().next());
    matches!(state, Some(state) if state != 'Z' && state != 'X')
}

/// The command line of a process with its arguments joined by spaces.
pub(crate) fn command_line(pid: i32) -> Option<String> {
    let raw = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let joined: Vec<u8> = raw.iter().map(|&byte| if byte == 0 { b' ' } else { byte }).collect();
    Some(String::from_utf8_lossy(&joined).trim_end().to_owned())
}

/// Live processes whose command line satisfies `belongs`.
pub(crate) fn find(belongs: impl Fn(&str) -> bool) -> Vec<i32> {
    let Ok(entries) = fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid != std::process::id() as i32 && is_alive(pid))
        .filter(|&pid| command_line(pid).is_some_and(|line| belongs(&line)))
        .collect()
}

/// Ends a process at once.
pub(crate) fn kill(pid: i32) {
    send(pid, Signal::KILL);
}

fn send(pid: i32, signal: Signal) {
    if let Some(pid) = Pid::from_raw(pid) {
        // The process may have exited in the meantime; that is what we wanted anyway.
        let _ = kill_process(pid, signal);
    }
}

/// Sends SIGTERM, waits up to `grace` for the process to go, then SIGKILLs it.
pub(crate) fn terminate(pid: i32, grace: Duration) {
    send(pid, Signal::TERM);
    if !wait_gone(pid, grace) {
        kill(pid);
        wait_gone(pid, Duration::from_secs(5));
    }
}

fn wait_gone(pid: i32, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while is_alive(pid) {
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(50));
    }
    true
}

/// The monitoring daemon's binary (`env_var`, else `default`), or `None` after printing a skip
/// note when it is missing. With `HAGIOS_REQUIRE_REAL=1` a missing binary panics instead, naming
/// the Debian `package` to install.
pub(crate) fn real_binary(env_var: &str, default: &str, package: &str) -> Option<PathBuf> {
    let binary = std::env::var_os(env_var).map_or_else(|| PathBuf::from(default), PathBuf::from);
    if binary.is_file() {
        return Some(binary);
    }
    if real_required() {
        panic!("HAGIOS_REQUIRE_REAL=1 but {} does not exist: install {package} or set {env_var}", binary.display());
    }
    eprintln!("skipping: {package} not installed ({} missing)", binary.display());
    None
}

/// `HAGIOS_REQUIRE_REAL=1`: a missing real system is a failure, not a skip.
pub(crate) fn real_required() -> bool {
    std::env::var("HAGIOS_REQUIRE_REAL").is_ok_and(|value| value == "1")
}

/// A port nobody listens on right now (the kernel's pick for an ephemeral bind).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral loopback port");
    listener.local_addr().expect("bound address").port()
}

/// One HTTP/1.0 exchange (the server closes the connection and sends no chunked bodies): the
/// status and the JSON answer (`null` when there is none).
pub(crate) fn http(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> std::io::Result<(u16, Value)> {
    let (status, payload) = http_bytes(port, method, path, token, body)?;
    Ok((status, serde_json::from_slice(&payload).unwrap_or(Value::Null)))
}

/// One HTTP/1.0 exchange: the status and the body as sent (a file, say).
pub(crate) fn http_bytes(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> std::io::Result<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let body = body.map(Value::to_string).unwrap_or_default();
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    let split = answer.windows(4).position(|window| window == b"\r\n\r\n");
    let (head, payload) = match split {
        Some(at) => (&answer[..at], answer[at + 4..].to_vec()),
        None => (&answer[..], Vec::new()),
    };
    let head = String::from_utf8_lossy(head);
    let status = head.split_whitespace().nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
    Ok((status, payload))
}
