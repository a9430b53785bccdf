//! Delivery of DCDB NORMAL messages (§1.12.1): subtypes 1–6 map to memdb operations,
//! 7/8 are the lock-expiry protocol.

use memdb::{Errno, Op};

use super::{ack, Dcdb, DcdbEvent};
use crate::app::{AppError, Ctx, NormalMsg};
use crate::codec::{DcdbSubtype, FuseOp, UnlockRecord};
use crate::machine::Level;

/// The path whose successful change triggers corosync.conf propagation (exact string).
pub const COROSYNC_CONF: &str = "corosync.conf";

fn malformed(e: impl std::fmt::Display) -> AppError {
    AppError::leave(format!("malformed DCDB message: {e}"))
}

/// Converts a decoded FUSE-op record of `subtype` (1–6) into a memdb operation.
pub fn fuse_op_to_op(subtype: DcdbSubtype, rec: FuseOp) -> Result<Op, AppError> {
    let path = rec.path.ok_or_else(|| malformed("missing path"))?;
    Ok(match subtype {
        DcdbSubtype::Write => Op::Write {
            path,
            offset: u64::from(rec.offset),
            data: rec.data,
            truncate: rec.flags != 0,
        },
        DcdbSubtype::Create => Op::Create { path },
        DcdbSubtype::Mkdir => Op::Mkdir { path },
        DcdbSubtype::Delete => Op::Delete { path },
        DcdbSubtype::Rename => Op::Rename {
            from: path,
            to: rec.to.ok_or_else(|| malformed("missing rename target"))?,
        },
        DcdbSubtype::Mtime => Op::Mtime {
            path,
            mtime: rec.offset,
        },
        DcdbSubtype::UnlockRequest | DcdbSubtype::Unlock => {
            return Err(malformed("lock message is not a FUSE-op record"))
        }
    })
}

/// The NORMAL message (subtype, payload) a FUSE operation is sent as.
pub fn op_to_message(op: &Op) -> (DcdbSubtype, Vec<u8>) {
    let rec = |path: &str| FuseOp {
        path: Some(path.to_string()),
        ..FuseOp::default()
    };
    let (subtype, rec) = match op {
        Op::Create { path } => (DcdbSubtype::Create, rec(path)),
        Op::Mkdir { path } => (DcdbSubtype::Mkdir, rec(path)),
        Op::Delete { path } => (DcdbSubtype::Delete, rec(path)),
        Op::Write {
            path,
            offset,
            data,
            truncate,
        } => (
            DcdbSubtype::Write,
            FuseOp {
                offset: *offset as u32,
                flags: u32::from(*truncate),
                data: data.clone(),
                ..rec(path)
            },
        ),
        Op::Rename { from, to } => (
            DcdbSubtype::Rename,
            FuseOp {
                to: Some(to.clone()),
                ..rec(from)
            },
        ),
        Op::Mtime { path, mtime } => (
            DcdbSubtype::Mtime,
            FuseOp {
                offset: *mtime,
                ..rec(path)
            },
        ),
    };
    (subtype, rec.encode())
}

fn result_of(r: Result<u64, Errno>) -> i32 {
    match r {
        Ok(n) => i32::try_from(n).unwrap_or(i32::MAX),
        Err(e) => e.negative(),
    }
}

impl Dcdb {
    pub(super) fn deliver_msg(
        &mut self,
        ctx: &mut Ctx<DcdbEvent>,
        msg: &NormalMsg<'_>,
    ) -> Result<i32, AppError> {
        let Some(subtype) = DcdbSubtype::from_code(msg.subtype) else {
            let text = format!(
                "received unknown message type (msg_type == {})",
                msg.subtype
            );
            return Err(AppError::leave(text));
        };
        if !self.is_quorate() {
            ctx.log(
                Level::Critical,
                "received write while not quorate - trigger resync",
            );
            return Err(AppError::leave("not quorate").with_result(Errno::Eacces.negative()));
        }
        let own = msg.from == ctx.local();
        if matches!(subtype, DcdbSubtype::UnlockRequest | DcdbSubtype::Unlock) {
            let rec = UnlockRecord::decode(msg.payload).map_err(malformed)?;
            if subtype == DcdbSubtype::UnlockRequest {
                if let Some(ids) = ack::parse_ack(&rec) {
                    self.ack_received(ctx, msg.from, &ids);
                    return Ok(0);
                }
                self.unlock_request(ctx, &rec);
                return self.fail_if_memdb_broken(0);
            }
            let before = self.ack.before_write(&self.memdb);
            let version = self.memdb.version();
            let result = self
                .memdb
                .unlock(&rec.path, &rec.csum, msg.from.nodeid, msg.time)
                .map_or_else(Errno::negative, |_| 0);
            self.trace_applied(ctx, msg, version);
            self.ack
                .after_write(ctx, &self.memdb, msg, own, result, before);
            return self.fail_if_memdb_broken(result);
        }
        let rec = FuseOp::decode(msg.payload).map_err(malformed)?;
        let op = fuse_op_to_op(subtype, rec)?;
        let before = self.ack.before_write(&self.memdb);
        let version = self.memdb.version();
        let result = result_of(self.memdb.apply(&op, msg.from.nodeid, msg.time));
        self.trace_applied(ctx, msg, version);
        let conf_path = match &op {
            Op::Write { path, .. } | Op::Create { path } => Some(path),
            Op::Rename { to, .. } => Some(to),
            _ => None,
        };
        if result >= 0 && conf_path.is_some_and(|p| p == COROSYNC_CONF) {
            ctx.emit(DcdbEvent::CorosyncConf { notify: own });
        }
        self.ack
            .after_write(ctx, &self.memdb, msg, own, result, before);
        self.fail_if_memdb_broken(result)
    }

    fn trace_applied(&self, ctx: &mut Ctx<DcdbEvent>, msg: &NormalMsg<'_>, before: u64) {
        if self.trace {
            let version = self.memdb.version();
            ctx.emit(DcdbEvent::Applied {
                from: msg.from,
                count: msg.count,
                version,
                changed: version != before,
            });
        }
    }

    /// UNLOCK_REQUEST: only the lowest node reacts; if the lock directory still has the
    /// checksum and is expired by local bookkeeping, it multicasts UNLOCK.
    fn unlock_request(&mut self, ctx: &mut Ctx<DcdbEvent>, rec: &UnlockRecord) {
        if !ctx.is_lowest() {
            return;
        }
        let now = (self.lock_clock)();
        if self.memdb.unlock_request_expired(&rec.path, &rec.csum, now) {
            ctx.log(
                Level::Debug,
                format!("sending unlock message for {}", rec.path),
            );
            ctx.send(DcdbSubtype::Unlock.code(), rec.encode());
        }
    }
}
