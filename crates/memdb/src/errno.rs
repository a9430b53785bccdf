//! The POSIX error numbers memdb operations can fail with.

use std::fmt;

/// An error of a memdb operation, carrying the same errno value the original pmxcfs returns
/// (negated in the C code: callers that need the wire form use [`Errno::negative`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Errno {
    /// The memdb is in its error state (a database write failed); nothing changes any more.
    Eio,
    /// The write would make the file larger than 1 MiB.
    Efbig,
    /// A path (or its parent directory) does not exist.
    Enoent,
    /// The parent is not a directory, or a file operation hit a directory.
    Enotdir,
    /// The name exists already, or a VMID is taken by another guest.
    Eexist,
    /// A directory that must be empty is not.
    Enotempty,
    /// Bad name, root entry, lock-directory rule.
    Eacces,
    /// Beyond the original: a path over 4096 bytes or a component over 255 bytes.
    Enametoolong,
    /// Beyond the original: moving a directory into itself.
    Einval,
}

impl Errno {
    /// The positive `libc` value.
    pub fn raw(self) -> i32 {
        match self {
            Errno::Eio => libc::EIO,
            Errno::Efbig => libc::EFBIG,
            Errno::Enoent => libc::ENOENT,
            Errno::Enotdir => libc::ENOTDIR,
            Errno::Eexist => libc::EEXIST,
            Errno::Enotempty => libc::ENOTEMPTY,
            Errno::Eacces => libc::EACCES,
            Errno::Enametoolong => libc::ENAMETOOLONG,
            Errno::Einval => libc::EINVAL,
        }
    }

    /// The negative value as returned by the C functions and sent as a DFSM result.
    pub fn negative(self) -> i32 {
        -self.raw()
    }

    /// The symbolic name, e.g. `"ENOENT"`.
    pub fn name(self) -> &'static str {
        match self {
            Errno::Eio => "EIO",
            Errno::Efbig => "EFBIG",
            Errno::Enoent => "ENOENT",
            Errno::Enotdir => "ENOTDIR",
            Errno::Eexist => "EEXIST",
            Errno::Enotempty => "ENOTEMPTY",
            Errno::Eacces => "EACCES",
            Errno::Enametoolong => "ENAMETOOLONG",
            Errno::Einval => "EINVAL",
        }
    }

    /// Maps a positive libc value back, if it is one of ours.
    pub fn from_raw(value: i32) -> Option<Errno> {
        ALL.iter().copied().find(|e| e.raw() == value)
    }
}

const ALL: [Errno; 9] = [
    Errno::Eio,
    Errno::Efbig,
    Errno::Enoent,
    Errno::Enotdir,
    Errno::Eexist,
    Errno::Enotempty,
    Errno::Eacces,
    Errno::Enametoolong,
    Errno::Einval,
];

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::error::Error for Errno {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_names_match_libc() {
        assert_eq!(Errno::Enoent.raw(), libc::ENOENT);
        assert_eq!(Errno::Eacces.negative(), -libc::EACCES);
        assert_eq!(Errno::Enotempty.to_string(), "ENOTEMPTY");
        for e in ALL {
            assert_eq!(Errno::from_raw(e.raw()), Some(e));
        }
        assert_eq!(Errno::from_raw(0), None);
    }
}
