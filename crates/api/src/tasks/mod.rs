//! Worker tasks, as PVE runs long operations (cluster create and join): the API answers the
//! task's UPID at once, the work runs on a thread of its own and writes its progress lines to
//! a log file under `/var/log/pve/tasks/<X>/<UPID>`, ending with `TASK OK` or
//! `TASK ERROR: <message>`. Clients poll `/nodes/{node}/tasks/{upid}/status` and read the log
//! (routes in [`crate::routes::tasks`]).
//!
//! Whether a task is still running is known from this process's own list; after a restart of
//! the daemon (a join ends with one) a finished task's state comes from its log's last line,
//! and a log without such a line belongs to a task that was cut off.

pub mod upid;

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub use upid::Upid;

/// Where PVE keeps task logs.
pub const DEFAULT_TASK_DIR: &str = "/var/log/pve/tasks";

/// Work to do after the task's log is closed (e.g. restarting the API daemon after a join,
/// which would otherwise cut the task off before its end line).
pub type FollowUp = Box<dyn FnOnce() + Send>;

/// What a task's work returns: a follow-up on success, the error text on failure.
pub type TaskOutcome = Result<Option<FollowUp>, String>;

/// A task's state as the status call reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskState {
    Running,
    /// Finished: `OK`, `WARNINGS: <n>`, the error message, or `unexpected status` when the
    /// log has no end line (the task was cut off).
    Stopped {
        exit_status: String,
        end_time: u64,
    },
}

/// The tasks of this daemon and the log directory they share with earlier runs.
#[derive(Debug, Clone)]
pub struct Tasks {
    dir: PathBuf,
    running: Arc<Mutex<HashSet<String>>>,
}

impl Tasks {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Tasks {
            dir: dir.into(),
            running: Arc::default(),
        }
    }

    /// Creates the task's log and starts `work` on its own thread; returns the UPID text.
    /// `work` gets a function that appends one line to the log.
    pub fn start<F>(&self, upid: Upid, work: F) -> io::Result<String>
    where
        F: FnOnce(&mut dyn FnMut(&str)) -> TaskOutcome + Send + 'static,
    {
        let path = upid.log_path(&self.dir);
        if let Some(bucket) = path.parent() {
            fs::create_dir_all(bucket)?;
        }
        let mut file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)?;
        let text = upid.to_string();
        self.running_set().insert(text.clone());
        let running = self.running.clone();
        let id = text.clone();
        std::thread::Builder::new()
            .name(format!("task-{}", upid.kind))
            .spawn(move || {
                let mut log = |line: &str| {
                    tracing::info!("{id}: {line}");
                    if let Err(e) = writeln!(file, "{line}") {
                        tracing::warn!("{id}: cannot write the task log: {e}");
                    }
                };
                let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| work(&mut log)))
                    .unwrap_or_else(|_| Err("internal error (the task panicked)".into()));
                match &outcome {
                    Ok(_) => log("TASK OK"),
                    Err(e) => log(&format!("TASK ERROR: {}", e.trim_end())),
                }
                let _ = file.sync_data();
                running
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&id);
                if let Ok(Some(follow_up)) = outcome {
                    follow_up();
                }
            })?;
        Ok(text)
    }

    /// The state of `upid`, `None` when there is no such task.
    pub fn state(&self, upid: &Upid) -> Option<TaskState> {
        if self.running_set().contains(&upid.to_string()) {
            return Some(TaskState::Running);
        }
        let path = upid.log_path(&self.dir);
        let end_time = fs::metadata(&path)
            .ok()?
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs());
        let last = read_lines(&path).ok()?.pop();
        Some(TaskState::Stopped {
            exit_status: exit_status(last.as_deref()),
            end_time,
        })
    }

    /// Lines `start + 1 ..= start + limit` of the task's log (numbered from 1) and the
    /// number of lines in all.
    pub fn log(
        &self,
        upid: &Upid,
        start: usize,
        limit: usize,
    ) -> io::Result<(Vec<(usize, String)>, usize)> {
        let lines = read_lines(&upid.log_path(&self.dir))?;
        let total = lines.len();
        let page = lines
            .into_iter()
            .enumerate()
            .skip(start)
            .take(limit)
            .map(|(i, line)| (i + 1, line))
            .collect();
        Ok((page, total))
    }

    /// Every task of `node` with a log here, newest first.
    pub fn list(&self, node: &str) -> Vec<Upid> {
        let mut tasks: Vec<Upid> = (0..16)
            .filter_map(|b| fs::read_dir(self.dir.join(format!("{b:X}"))).ok())
            .flatten()
            .filter_map(|entry| Upid::parse(entry.ok()?.file_name().to_str()?))
            .filter(|u| u.node == node)
            .collect();
        tasks.sort_by_key(|u| std::cmp::Reverse((u.starttime, u.to_string())));
        tasks
    }

    fn running_set(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn read_lines(path: &Path) -> io::Result<Vec<String>> {
    BufReader::new(File::open(path)?).lines().collect()
}

/// A finished task's exit status from the last line of its log.
pub fn exit_status(last_line: Option<&str>) -> String {
    match last_line {
        Some("TASK OK") => "OK".into(),
        Some(line) => match (
            line.strip_prefix("TASK ERROR: "),
            line.strip_prefix("TASK WARNINGS: "),
        ) {
            (Some(error), _) => error.into(),
            (_, Some(count)) => format!("WARNINGS: {count}"),
            _ => "unexpected status".into(),
        },
        None => "unexpected status".into(),
    }
}

#[cfg(test)]
mod tests;
