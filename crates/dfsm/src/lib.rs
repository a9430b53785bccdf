//! The DFSM replication protocol of pmxcfs as a sans-I/O state machine, its DCDB
//! application over memdb, and a deterministic CPG simulator.
//!
//! * [`codec`]: exact wire formats (headers, VERIFY payloads, DCDB records).
//! * [`Dfsm`] ([`machine`]): the generic protocol — modes, epochs, queues, sync rounds,
//!   VERIFY — fed with CPG events, returning [`Action`]s.
//! * [`Application`] ([`app`]): what an application (DCDB, KVSTORE) plugs in.
//! * [`Dcdb`] ([`dcdb`]): the configuration database application over [`memdb::Memdb`],
//!   with an optional quorum-acknowledgement mode ([`AckPolicy`]).
//! * [`transport`]: the [`Transport`] trait a real CPG driver implements, and a
//!   thread-safe [`Driver`] that executes actions and blocks writers.
//! * [`sim`]: a seeded simulator of CPG semantics (agreed order, virtual synchrony,
//!   partitions, crashes, quorum) running many nodes of `Dfsm<Dcdb>` in one process.
//!
//! Not for: real CPG I/O, FUSE, quorum tracking — the daemon supplies those.

pub mod app;
pub mod codec;
pub mod dcdb;
pub mod machine;
pub mod sim;
pub mod transport;

pub use app::{
    AppError, Application, Ctx, MemberId, MemberState, NormalMsg, StateOutcome, UpdateRecords,
};
pub use dcdb::{AckPolicy, Dcdb, DcdbEvent};
pub use machine::{Action, Dfsm, Level, Mode, SendError};
pub use transport::{Driver, Effect, Transport, TransportError, WaitError, Waiters};
