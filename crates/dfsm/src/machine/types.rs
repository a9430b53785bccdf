//! The machine's public vocabulary: modes, log levels, actions, send errors.

/// DFSM modes (numeric values as in C).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// 0: not yet part of a view.
    Start,
    /// 1: view changed, collecting STATE messages.
    StartSync,
    /// 2: normal operation.
    Synced,
    /// 3: waiting for the leader's updates.
    Update,
    /// 253: leave the group (restartable).
    Leave,
    /// 254: a newer protocol was seen (not restartable).
    VersionError,
    /// 255: internal/database error (not restartable).
    Error,
}

impl Mode {
    /// Numeric value.
    pub fn code(self) -> u8 {
        match self {
            Mode::Start => 0,
            Mode::StartSync => 1,
            Mode::Synced => 2,
            Mode::Update => 3,
            Mode::Leave => 253,
            Mode::VersionError => 254,
            Mode::Error => 255,
        }
    }

    /// Values ≥ 128: every incoming message is ignored.
    pub fn is_error(self) -> bool {
        self.code() >= 128
    }
}

/// Log severity of [`Action::Log`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Debug detail.
    Debug,
    /// Normal notice.
    Notice,
    /// Warning.
    Warning,
    /// Critical condition.
    Critical,
}

/// What the driver must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action<E> {
    /// Multicast these bytes to the group (agreed order).
    Multicast(Vec<u8>),
    /// The local writer of message `count` gets `result` (bytes written or `-errno`).
    Completed {
        /// Message counter returned by `send_normal`.
        count: u64,
        /// Application result.
        result: i32,
    },
    /// The local writer of message `count` will get no result (the daemon answers EBUSY).
    Aborted {
        /// Message counter returned by `send_normal`.
        count: u64,
    },
    /// The machine entered an error mode: leave the CPG group (`cpg_leave`); re-initialize
    /// later ([`crate::Dfsm::reset`] + join) only if [`crate::Dfsm::restartable`].
    Leave,
    /// The mode changed.
    ModeChanged {
        /// Previous mode.
        from: Mode,
        /// New mode.
        to: Mode,
    },
    /// A log line.
    Log {
        /// Severity.
        level: Level,
        /// Text.
        message: String,
    },
    /// An application event.
    App(E),
}

/// Why [`crate::Dfsm::send_normal`] refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The machine is in an error mode (left, or stopped): the daemon answers EBUSY.
    #[error("DFSM is not connected (mode {0:?})")]
    NotConnected(Mode),
}

/// What [`crate::Dfsm::send_normal`] returns: the message counter to wait for and the
/// actions (the multicast) to execute.
pub type Sent<E> = (u64, Vec<Action<E>>);

/// `(sender, count)` of queued messages.
pub type QueueIds = Vec<(crate::app::MemberId, u64)>;
