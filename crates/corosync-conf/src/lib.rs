//! Read corosync.conf losslessly, edit and validate it, and write Proxmox's canonical layout.
//!
//! * [`Config::parse`] reads text with corosync's own grammar (line based, no inline
//!   comments, errors as `parser error: <line>: <reason>` with corosync's reasons) into a
//!   tree that keeps every entry, duplicate and comment.
//! * [`Config::to_text`] gives back the original bytes when nothing was edited (a file we did
//!   not change is never rewritten) and otherwise the canonical layout Proxmox VE writes
//!   (sorted keys, two-space indentation), with comments kept.
//! * [`Config::view`] is a typed, serialisable view ([`ConfView`]); edits ([`Config::create`],
//!   [`Config::add_node`], [`Config::set`], ...) work on the tree so unknown keys and comments
//!   survive.
//! * [`Config::validate`] lists every problem corosync, votequorum, corosync-qdevice or
//!   Proxmox would have, each with its fix.
//!
//! Not for: file I/O (callers read and write files, e.g. atomically via `corosync.conf.new`),
//! talking to a running corosync, or resolving host names (addresses are checked only
//! when they are IP literals).

mod ast;
mod cnum;
mod config;
mod create;
mod edit;
mod extract;
mod fuzz;
pub mod names;
mod parse;
mod problem;
mod schema;
mod validate;
mod validate_quorum;
mod validate_values;
mod view;
mod write;

pub use ast::{Entry, Item, Section};
pub use config::Config;
pub use create::{ClusterSpec, LinkSpec};
pub use edit::{EditError, NodeSpec, MAX_LINK};
pub use fuzz::fuzz_check;
pub use parse::{ParseError, ParseErrorReason};
pub use problem::Problem;
pub use view::{
    ConfView, Interface, Logging, NetDevice, Node, Quorum, QuorumDevice, RawSection, Totem,
};
