//! The agent process: which command runs for which agent, starting it in its own process
//! group in the run's workspace, reading its output line by line, and stopping it (the whole
//! group, so a shell's children die with it and their pipes close).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::error::{Error, Result};
use crate::logs::LogBuffer;

/// The longest line sent as one log line; longer output is split (the module's limit is
/// 16384 characters, and a character is at least one byte).
const LINE_BYTES_MAX: u64 = 16 * 1024;

/// The agents the module knows and their non-interactive commands; the task is appended as
/// the last argument.
const DEFAULTS: [(&str, &str); 2] = [("claude-code", "claude -p"), ("codex", "codex exec")];

/// Agent name → program and leading arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentCommands(BTreeMap<String, Vec<String>>);

impl AgentCommands {
    /// The defaults, replaced by `overrides` (`name → command line`, split on whitespace).
    pub fn new<I>(overrides: I) -> Result<AgentCommands>
    where
        I: IntoIterator<Item = (String, String)>,
    {
        let mut map: BTreeMap<String, Vec<String>> = DEFAULTS
            .iter()
            .map(|(a, c)| ((*a).to_owned(), words(c)))
            .collect();
        for (agent, command) in overrides {
            let argv = words(&command);
            if agent.trim().is_empty() || argv.is_empty() {
                return Err(Error::Config(format!(
                    "agent command `{agent}={command}`: give NAME=COMMAND"
                )));
            }
            map.insert(agent.trim().to_owned(), argv);
        }
        Ok(AgentCommands(map))
    }

    /// Parses `--agent-command NAME=COMMAND`.
    pub fn parse_flag(flag: &str) -> Result<(String, String)> {
        match flag.split_once('=') {
            Some((agent, command)) if !agent.trim().is_empty() && !command.trim().is_empty() => {
                Ok((agent.trim().to_owned(), command.to_owned()))
            }
            _ => Err(Error::Config(format!(
                "--agent-command `{flag}`: expected NAME=COMMAND, e.g. claude-code=/usr/local/bin/claude -p"
            ))),
        }
    }

    pub(crate) fn get(&self, agent: &str) -> Option<&[String]> {
        self.0.get(agent).map(Vec::as_slice)
    }
}

fn words(command: &str) -> Vec<String> {
    command.split_whitespace().map(str::to_owned).collect()
}

/// Starts `argv + [task]` in `workspace`, in a new process group, with piped output.
/// `COSMIOS_RUN_ID` and `COSMIOS_TASK` are set too, for wrappers that prefer them.
pub(crate) fn spawn(argv: &[String], workspace: &Path, run_id: u64, task: &str) -> Result<Child> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| Error::Config("an empty agent command".into()))?;
    let mut cmd = Command::new(program);
    cmd.args(args)
        .arg(task)
        .current_dir(workspace)
        .env("COSMIOS_RUN_ID", run_id.to_string())
        .env("COSMIOS_TASK", task)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    #[cfg(unix)]
    cmd.process_group(0);
    cmd.spawn()
        .map_err(|e| Error::io(format!("cannot start `{program}`"), e))
}

/// Forwards `reader`'s lines to `logs` as `stream` until end of file.
pub(crate) async fn forward_lines<R>(reader: R, stream: &'static str, logs: Arc<LogBuffer>)
where
    R: AsyncRead + Unpin,
{
    let mut reader = BufReader::new(reader);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match (&mut reader)
            .take(LINE_BYTES_MAX)
            .read_until(b'\n', &mut buf)
            .await
        {
            Ok(0) => return,
            Ok(_) => {
                while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                    buf.pop();
                }
                logs.push(stream, String::from_utf8_lossy(&buf).into_owned());
            }
            Err(e) => {
                logs.push("system", format!("reading the agent's {stream}: {e}"));
                return;
            }
        }
    }
}

/// Stops the agent: SIGTERM to its process group, SIGKILL after `grace`. Returns its exit
/// status when it could be collected.
pub(crate) async fn stop(child: &mut Child, grace: Duration) -> Option<ExitStatus> {
    signal_group(child, Signal::Terminate);
    if let Ok(Ok(status)) = tokio::time::timeout(grace, child.wait()).await {
        // The leader exited; children that ignored SIGTERM still hold the pipes.
        signal_group(child, Signal::Kill);
        return Some(status);
    }
    signal_group(child, Signal::Kill);
    let _ = child.start_kill();
    child.wait().await.ok()
}

#[derive(Debug, Clone, Copy)]
enum Signal {
    Terminate,
    Kill,
}

#[cfg(unix)]
fn signal_group(child: &Child, signal: Signal) {
    let Some(pid) = child.id().and_then(|p| libc::pid_t::try_from(p).ok()) else {
        return;
    };
    let sig = match signal {
        Signal::Terminate => libc::SIGTERM,
        Signal::Kill => libc::SIGKILL,
    };
    // SAFETY: `kill` has no memory-safety preconditions; a negative pid names the process
    // group the agent leads (`process_group(0)` at spawn). The group id is the leader's pid,
    // which stays reserved until we reap the leader, so it cannot name someone else's group.
    unsafe {
        libc::kill(-pid, sig);
    }
}

/// Without process groups, `stop` kills the agent itself (`start_kill`).
#[cfg(not(unix))]
fn signal_group(_child: &Child, _signal: Signal) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_replaced_by_overrides() {
        let agents =
            AgentCommands::new([("codex".to_owned(), "/opt/codex exec --json".to_owned())])
                .expect("valid");
        assert_eq!(
            agents.get("claude-code"),
            Some(&["claude".to_owned(), "-p".to_owned()][..])
        );
        assert_eq!(
            agents.get("codex"),
            Some(&["/opt/codex".into(), "exec".into(), "--json".into()][..])
        );
        assert_eq!(agents.get("aider"), None);
        assert!(AgentCommands::new([("x".to_owned(), " ".to_owned())]).is_err());
        assert_eq!(
            AgentCommands::parse_flag("claude-code=/bin/stub --fast").expect("valid"),
            ("claude-code".to_owned(), "/bin/stub --fast".to_owned())
        );
        assert!(AgentCommands::parse_flag("claude-code").is_err());
        assert!(AgentCommands::parse_flag("=x").is_err());
    }
}
