//! SQLite persistence with the original `config.db` schema (§2.2).

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

use crate::sql::{load_rows, write_changes};

use crate::load::LoadError;
use crate::tree::{Row, RowChange};

/// The exact `CREATE TABLE` statement of the original.
pub const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS tree (
  inode INTEGER PRIMARY KEY NOT NULL,
  parent INTEGER NOT NULL CHECK(typeof(parent)=='integer'),
  version INTEGER NOT NULL CHECK(typeof(version)=='integer'),
  writer INTEGER NOT NULL CHECK(typeof(writer)=='integer'),
  mtime INTEGER NOT NULL CHECK(typeof(mtime)=='integer'),
  type INTEGER NOT NULL CHECK(typeof(type)=='integer'),
  name TEXT NOT NULL,
  data BLOB);";

/// Name of the single-instance lock file created beside the database.
pub const LOCK_FILE_NAME: &str = ".pmxcfs.lockfile";

/// Errors of the storage edge; every message names the file concerned.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The single-instance lock is held by someone else.
    #[error("another pmxcfs instance holds {}", .lockfile.display())]
    Locked {
        /// The lock file.
        lockfile: PathBuf,
    },
    /// A file-system error.
    #[error("{}: {source}", .path.display())]
    Io {
        /// File concerned.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The file exists but is not an SQLite database; it was not modified.
    #[error("{}: not an SQLite database (refusing to touch it)", .path.display())]
    NotSqlite {
        /// File concerned.
        path: PathBuf,
    },
    /// An SQLite database that is not a pmxcfs `config.db`; it was not modified.
    #[error("{}: foreign database (refusing to touch it): {reason}", .path.display())]
    Foreign {
        /// File concerned.
        path: PathBuf,
        /// What does not match.
        reason: String,
    },
    /// An SQLite error.
    #[error("{}: sqlite: {source}", .path.display())]
    Sqlite {
        /// File concerned.
        path: PathBuf,
        /// Cause.
        source: rusqlite::Error,
    },
    /// The rows do not form a valid tree.
    #[error("{}: invalid tree: {source}", .path.display())]
    Load {
        /// File concerned.
        path: PathBuf,
        /// Cause.
        source: LoadError,
    },
}

/// An open `config.db` plus the exclusive single-instance lock beside it (held until drop).
#[derive(Debug)]
pub struct Database {
    pub(crate) conn: Connection,
    path: PathBuf,
    _lock: File,
}

/// Compares schema texts ignoring whitespace, letter case and `IF NOT EXISTS`/`;`.
fn same_schema(stored: &str) -> bool {
    let norm = |s: &str| -> String {
        s.replace("IF NOT EXISTS", "")
            .chars()
            .filter(|c| !c.is_whitespace() && *c != ';')
            .flat_map(char::to_lowercase)
            .collect()
    };
    norm(stored) == norm(SCHEMA)
}

fn lock_instance(path: &Path, wait: Duration) -> Result<File, StoreError> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let lockfile = dir.unwrap_or(Path::new(".")).join(LOCK_FILE_NAME);
    let file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(0o600)
        .open(&lockfile)
        .map_err(|source| StoreError::Io {
            path: lockfile.clone(),
            source,
        })?;
    let deadline = Instant::now() + wait;
    loop {
        // SAFETY: flock on a valid, owned file descriptor.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            return Ok(file);
        }
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EWOULDBLOCK) {
            return Err(StoreError::Io {
                path: lockfile,
                source: err,
            });
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(StoreError::Locked { lockfile });
        }
        std::thread::sleep(left.min(Duration::from_secs(1)));
    }
}

/// Checks an existing non-empty file without writing to it; returns a read-only
/// connection to it if it holds our `tree` table.
fn check_existing(path: &Path) -> Result<Option<Connection>, StoreError> {
    let io = |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut header = [0u8; 16];
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(e)),
    };
    if f.metadata().map_err(io)?.len() == 0 {
        return Ok(None);
    }
    if f.read_exact(&mut header).is_err() || &header != b"SQLite format 3\0" {
        return Err(StoreError::NotSqlite {
            path: path.to_path_buf(),
        });
    }
    let foreign = |reason: String| StoreError::Foreign {
        path: path.to_path_buf(),
        reason,
    };
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| foreign(e.to_string()))?;
    let objects: Vec<(String, String, Option<String>)> = conn
        .prepare("SELECT type, name, sql FROM sqlite_master")
        .and_then(|mut s| {
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect()
        })
        .map_err(|e| foreign(e.to_string()))?;
    if objects.is_empty() {
        return Ok(None);
    }
    match objects.iter().find(|(t, n, _)| t == "table" && n == "tree") {
        Some((_, _, Some(sql))) if same_schema(sql) => Ok(Some(conn)),
        Some((_, _, sql)) => Err(foreign(format!(
            "table \"tree\" has a different schema: {}",
            sql.as_deref().unwrap_or("?")
        ))),
        None => {
            let names: Vec<&str> = objects.iter().map(|(_, n, _)| n.as_str()).collect();
            Err(foreign(format!(
                "no table \"tree\" (found: {})",
                names.join(", ")
            )))
        }
    }
}

impl Database {
    /// Opens (or creates) the database at `path`, failing at once if another instance
    /// holds the lock.
    pub fn open(path: impl AsRef<Path>) -> Result<Database, StoreError> {
        Database::open_with(path, Duration::ZERO, |_| Ok(())).map(|(db, ())| db)
    }

    /// Opens (or creates) the database at `path`:
    /// 1. takes the single-instance lock beside it, retrying once a second up to `wait`;
    /// 2. refuses (untouched) a file that is not SQLite or has no/another `tree` schema;
    /// 3. reads all rows through a read-only connection and hands them to `validate`;
    ///    a validation error is returned as [`StoreError::Load`], the file still untouched;
    /// 4. only then opens it read-write: chmod 0600, busy timeout 10 s, WAL,
    ///    `synchronous=NORMAL`, `CREATE TABLE IF NOT EXISTS`.
    pub fn open_with<T>(
        path: impl AsRef<Path>,
        wait: Duration,
        validate: impl FnOnce(Vec<Row>) -> Result<T, LoadError>,
    ) -> Result<(Database, T), StoreError> {
        let path = path.as_ref().to_path_buf();
        let lock = lock_instance(&path, wait)?;
        let sql = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let rows = match check_existing(&path)? {
            Some(ro) => load_rows(&ro).map_err(|e| match e {
                Ok(source) => sql(source),
                Err(source) => StoreError::Load {
                    path: path.clone(),
                    source,
                },
            })?,
            None => Vec::new(),
        };
        let validated = validate(rows).map_err(|source| StoreError::Load {
            path: path.clone(),
            source,
        })?;
        let conn = Connection::open(&path).map_err(sql)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(
            |source| StoreError::Io {
                path: path.clone(),
                source,
            },
        )?;
        conn.busy_timeout(Duration::from_millis(10_000))
            .map_err(sql)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sql)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sql)?;
        conn.execute_batch(SCHEMA).map_err(sql)?;
        let db = Database {
            conn,
            path,
            _lock: lock,
        };
        Ok((db, validated))
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn sql_err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// Writes `changes` in one transaction (rolled back on any failure). A replaced row
    /// must affect exactly one row.
    pub fn commit(&mut self, changes: &[RowChange]) -> Result<(), StoreError> {
        let result = self.conn.transaction().and_then(|tx| {
            write_changes(&tx, changes)?;
            tx.commit()
        });
        result.map_err(|e| self.sql_err(e))
    }
}
