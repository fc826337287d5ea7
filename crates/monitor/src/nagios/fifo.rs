//! Writing rendered lines into Nagios' command FIFO without ever blocking: the FIFO is opened
//! `O_WRONLY|O_NONBLOCK`, so a stopped Nagios (no reader) is reported at once, and each line
//! goes out in one `write(2)` below `PIPE_BUF`, so it cannot interleave with other writers.

use crate::MonitorError;
use rustix::fs::{fstat, open, FileType, Mode, OFlags};
use rustix::io::{write, Errno};
use std::path::Path;
use std::thread;
use std::time::Duration;

/// A full pipe means Nagios is busy; it drains quickly, so retry for about a second.
const FULL_PIPE_RETRIES: u32 = 50;
const FULL_PIPE_PAUSE: Duration = Duration::from_millis(20);

/// Writes one line. The short retry sleeps run on the blocking pool, never on the async runtime.
pub(crate) async fn send(command_file: &Path, line: String) -> Result<(), MonitorError> {
    let command_file = command_file.to_path_buf();
    tokio::task::spawn_blocking(move || write_line(&command_file, line.as_bytes()))
        .await
        .map_err(|err| MonitorError::Io { context: "the command writer task failed".into(), cause: err.into() })?
}

fn write_line(command_file: &Path, line: &[u8]) -> Result<(), MonitorError> {
    let fifo = open(command_file, OFlags::WRONLY | OFlags::NONBLOCK | OFlags::CLOEXEC, Mode::empty())
        .map_err(|errno| open_error(command_file, errno))?;
    let is_fifo = fstat(&fifo).map(|stat| FileType::from_raw_mode(stat.st_mode) == FileType::Fifo);
    if !is_fifo.map_err(|errno| io_error(format!("cannot inspect {}", command_file.display()), errno))? {
        return Err(MonitorError::Refused(format!(
            "{} is not a FIFO; point command_file at Nagios' command_file (check_external_commands=1)",
            command_file.display()
        )));
    }
    for _ in 0..FULL_PIPE_RETRIES {
        match write(&fifo, line) {
            Ok(written) if written == line.len() => return Ok(()),
            Ok(written) => {
                return Err(MonitorError::Io {
                    context: format!("only {written} of {} bytes reached {}", line.len(), command_file.display()),
                    cause: std::io::ErrorKind::WriteZero.into(),
                })
            }
            Err(Errno::AGAIN) | Err(Errno::INTR) => thread::sleep(FULL_PIPE_PAUSE),
            Err(Errno::PIPE) => return Err(not_running(command_file)),
            Err(errno) => return Err(io_error(format!("cannot write to {}", command_file.display()), errno)),
        }
    }
    Err(io_error(
        format!(
            "the command pipe {} stayed full for {:?}; Nagios is not reading commands, check its health and log",
            command_file.display(),
            FULL_PIPE_PAUSE * FULL_PIPE_RETRIES
        ),
        Errno::AGAIN,
    ))
}

fn open_error(command_file: &Path, errno: Errno) -> MonitorError {
    match errno {
        // ENXIO: the FIFO has no reader; ENOENT: Nagios removed it or never made it.
        Errno::NXIO | Errno::NOENT => not_running(command_file),
        Errno::ACCESS | Errno::PERM => io_error(
            format!("may not write {}; run the agent as a member of the Nagios command group", command_file.display()),
            errno,
        ),
        _ => io_error(format!("cannot open {}", command_file.display()), errno),
    }
}

fn not_running(command_file: &Path) -> MonitorError {
    MonitorError::NotRunning { system: "Nagios", detail: format!("nobody reads {}", command_file.display()) }
}

fn io_error(context: String, errno: Errno) -> MonitorError {
    MonitorError::Io { context, cause: errno.into() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::fs::{mkfifoat, CWD};
    use std::io::Read;

    #[test]
    fn missing_file_and_fifo_without_reader_mean_not_running() {
        let dir = tempfile::tempdir().expect("temp dir");
        let fifo = dir.path().join("nagios.cmd");
        assert!(matches!(write_line(&fifo, b"x\n"), Err(MonitorError::NotRunning { .. })));
        mkfifoat(CWD, &fifo, Mode::from_raw_mode(0o600)).expect("mkfifo");
        let err = write_line(&fifo, b"x\n").expect_err("no reader");
        assert!(matches!(err, MonitorError::NotRunning { .. }));
        assert!(err.to_string().contains("nobody reads"), "{err}");
        assert!(err.retryable());
    }

    #[test]
    fn a_regular_file_is_refused() {
        let file = tempfile::NamedTempFile::new().expect("temp file");
        assert!(matches!(write_line(file.path(), b"x\n"), Err(MonitorError::Refused(_))));
        assert_eq!(std::fs::read(file.path()).expect("read back"), b"");
    }

    #[test]
    fn a_line_reaches_the_reader_whole() {
        let dir = tempfile::tempdir().expect("temp dir");
        let fifo = dir.path().join("nagios.cmd");
        mkfifoat(CWD, &fifo, Mode::from_raw_mode(0o600)).expect("mkfifo");
        // O_RDWR never blocks on a FIFO: the reader exists before the writer opens.
        let mut reader = std::fs::OpenOptions::new().read(true).write(true).open(&fifo).expect("reader");
        write_line(&fifo, b"[1] DEL_HOST_DOWNTIME;1\n").expect("written");
        let mut received = [0u8; 64];
        let length = reader.read(&mut received).expect("read");
        assert_eq!(&received[..length], b"[1] DEL_HOST_DOWNTIME;1\n");
    }
}
