//! Progress shown on stderr while the command line waits: a module upload's percentage.
//!
//! On a terminal the line is redrawn in place (`\r`); otherwise (a pipe, a log file) only the
//! end of the upload is written, so logs are not flooded.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// Shows how much of an upload has been sent.
#[derive(Debug)]
pub(crate) struct UploadMeter {
    terminal: bool,
    /// The last whole percentage shown, plus one (0: nothing shown yet).
    shown: AtomicU64,
}

impl UploadMeter {
    pub(crate) fn new(terminal: bool) -> UploadMeter {
        UploadMeter {
            terminal,
            shown: AtomicU64::new(0),
        }
    }

    /// Called as bytes go out; draws when the percentage moved.
    pub(crate) fn update(&self, sent: u64, total: u64) {
        let line = self.line(sent, total);
        if let Some(line) = line {
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(line.as_bytes());
            let _ = err.flush();
        }
    }

    /// What to write for `sent` of `total` bytes, if anything.
    fn line(&self, sent: u64, total: u64) -> Option<String> {
        let percent = sent.saturating_mul(100).checked_div(total).unwrap_or(100);
        let previous = self.shown.swap(percent + 1, Ordering::Relaxed);
        if previous == percent + 1 {
            return None;
        }
        let done = sent >= total;
        let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
        match (self.terminal, done) {
            (true, false) => Some(format!(
                "\r  sent {percent:>3}% ({:.2} of {:.2} MiB)",
                mib(sent),
                mib(total)
            )),
            (true, true) => Some(format!(
                "\r  sent 100% ({:.2} MiB); the server is compiling and deploying it…\n",
                mib(total)
            )),
            (false, true) => Some(format!(
                "  sent {:.2} MiB; the server is compiling and deploying it…\n",
                mib(total)
            )),
            (false, false) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_terminal_sees_each_percent_once_and_a_pipe_only_the_end() {
        // Proves the meter redraws in place only when the percentage moves, ends with a line
        // saying what happens next, and writes one line in all when not on a terminal.
        let tty = UploadMeter::new(true);
        let total = 1000;
        let lines: Vec<String> = [0, 4, 9, 10, 500, 505, 1000]
            .iter()
            .filter_map(|&sent| tty.line(sent, total))
            .collect();
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert!(lines[0].starts_with("\r  sent   0%"), "{lines:?}");
        assert!(lines[2].contains(" 50% "), "{lines:?}");
        assert!(lines[3].contains("100%") && lines[3].ends_with("deploying it…\n"));
        let pipe = UploadMeter::new(false);
        let lines: Vec<String> = [0, 500, 1000]
            .iter()
            .filter_map(|&sent| pipe.line(sent, total))
            .collect();
        assert_eq!(
            lines,
            ["  sent 0.00 MiB; the server is compiling and deploying it…\n"]
        );
    }
}
