use std::fmt;

/// A failed call into a Corosync client library.
#[derive(Debug)]
pub struct Error {
    /// The library call that failed, e.g. `quorum_initialize`.
    pub call: &'static str,
    /// Corosync's error code (`cs_error_t`), as a number.
    pub code: u32,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn new(call: &'static str, code: u32) -> Self {
        Error { call, code }
    }

    pub(crate) fn from_cs(call: &'static str, err: rust_corosync::CsError) -> Self {
        Error::new(call, err as u32)
    }

    /// Corosync's symbolic name of the code, as its tools print it (e.g. `CS_ERR_NOT_EXIST`).
    pub fn code_name(&self) -> &'static str {
        match self.code {
            1 => "CS_OK",
            2 => "CS_ERR_LIBRARY",
            3 => "CS_ERR_VERSION",
            4 => "CS_ERR_INIT",
            5 => "CS_ERR_TIMEOUT",
            6 => "CS_ERR_TRY_AGAIN",
            7 => "CS_ERR_INVALID_PARAM",
            8 => "CS_ERR_NO_MEMORY",
            9 => "CS_ERR_BAD_HANDLE",
            10 => "CS_ERR_BUSY",
            11 => "CS_ERR_ACCESS",
            12 => "CS_ERR_NOT_EXIST",
            13 => "CS_ERR_NAME_TOO_LONG",
            14 => "CS_ERR_EXIST",
            15 => "CS_ERR_NO_SPACE",
            16 => "CS_ERR_INTERRUPT",
            17 => "CS_ERR_NAME_NOT_FOUND",
            18 => "CS_ERR_NO_RESOURCES",
            19 => "CS_ERR_NOT_SUPPORTED",
            20 => "CS_ERR_BAD_OPERATION",
            21 => "CS_ERR_FAILED_OPERATION",
            22 => "CS_ERR_MESSAGE_ERROR",
            23 => "CS_ERR_QUEUE_FULL",
            24 => "CS_ERR_QUEUE_NOT_AVAILABLE",
            25 => "CS_ERR_BAD_FLAGS",
            26 => "CS_ERR_TOO_BIG",
            27 => "CS_ERR_NO_SECTIONS",
            28 => "CS_ERR_CONTEXT_NOT_FOUND",
            30 => "CS_ERR_TOO_MANY_GROUPS",
            100 => "CS_ERR_SECURITY",
            _ => "CS_ERR_UNKNOWN",
        }
    }

    /// True when the failure means "corosync is not running (or not reachable) here".
    pub fn is_not_running(&self) -> bool {
        self.call.ends_with("_initialize") && self.code == 2
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_not_running() {
            write!(
                f,
                "cannot connect to corosync ({} failed: {}): is corosync running on this node?",
                self.call,
                self.code_name()
            )
        } else {
            write!(f, "{} failed: {}", self.call, self.code_name())
        }
    }
}

impl std::error::Error for Error {}
