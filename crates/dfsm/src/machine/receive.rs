//! The receive path (§1.7), the queue delivery passes (§1.9) and VERIFY (§1.10).

use super::updates::UpdateStream;
use super::{log, Action, Dfsm, Level, Mode, Out, Queued};
use crate::app::{Application, MemberId, MemberState, NormalMsg};
use crate::codec::{
    decode_normal, decode_state, decode_verify, decode_verify_request, encode_verify, BaseHeader,
    MsgType, NormalHeader, StateHeader,
};

impl<A: Application> Dfsm<A> {
    /// CPG deliver callback: `bytes` multicast by `from`, in agreed order.
    pub fn deliver(&mut self, from: MemberId, bytes: &[u8], now: u32) -> Vec<Action<A::Event>> {
        self.now = now;
        let mut out = Vec::new();
        self.receive(from, bytes, &mut out);
        out
    }

    pub(super) fn receive(&mut self, from: MemberId, bytes: &[u8], out: &mut Out<A::Event>) {
        if self.mode.is_error() {
            return;
        }
        if self.members.is_none() {
            return self.leave("no member bookkeeping - internal error", out);
        }
        let base = match BaseHeader::decode(bytes) {
            Ok(b) => b,
            Err(e) => return self.leave(&format!("received short message ({e})"), out),
        };
        if base.protocol_version > self.protocol {
            let msg = format!(
                "received message with protocol version {}",
                base.protocol_version
            );
            log(out, Level::Critical, msg);
            return self.set_mode(Mode::VersionError, out);
        }
        if base.protocol_version < self.protocol {
            let msg = format!(
                "ignore message with wrong protocol version {}",
                base.protocol_version
            );
            return log(out, Level::Notice, msg);
        }
        if base.msg_type == MsgType::Normal.code() {
            match decode_normal(bytes) {
                Ok((header, payload)) => self.receive_normal(from, &header, payload, bytes, out),
                Err(e) => self.leave(&format!("received short message ({e})"), out),
            }
            return;
        }
        match decode_state(bytes) {
            Ok((header, payload)) => self.receive_state(from, &header, payload, out),
            Err(e) => self.leave(&format!("received short state message ({e})"), out),
        }
    }

    fn receive_normal(
        &mut self,
        from: MemberId,
        header: &NormalHeader,
        payload: &[u8],
        raw: &[u8],
        out: &mut Out<A::Event>,
    ) {
        if self.mode != Mode::Synced {
            let Some(sender) = self.member(from) else {
                return self.leave("queued message from a non-member", out);
            };
            let q = Queued {
                from,
                count: header.count,
                msg: raw.to_vec(),
            };
            if self.mode == Mode::Update && sender.synced {
                self.sync_queue.push_back(q);
            } else {
                // stable: after every queued message with the same count
                let pos = self.msg_queue.partition_point(|e| e.count <= q.count);
                self.msg_queue.insert(pos, q);
            }
            return;
        }
        let msg = NormalMsg {
            from,
            count: header.count,
            subtype: header.base.subtype,
            time: header.base.time,
            payload,
        };
        let own = from == self.local;
        let (res, ctx) = self.with_app(out, |app, ctx| app.deliver(ctx, &msg));
        match res {
            Ok(result) => {
                if own {
                    let result = (!ctx.defer).then_some(result);
                    self.record_local_result(header.count, result, out);
                }
                if let Some(reason) = ctx.leave {
                    self.leave(&reason, out);
                }
            }
            Err(e) => {
                if own {
                    self.record_local_result(header.count, Some(e.result.unwrap_or(-1)), out);
                }
                if e.fatal {
                    log(out, Level::Critical, e.reason.clone());
                    self.set_mode(Mode::Error, out);
                }
                self.leave(&e.reason, out);
            }
        }
    }

    fn receive_state(
        &mut self,
        from: MemberId,
        header: &StateHeader,
        payload: &[u8],
        out: &mut Out<A::Event>,
    ) {
        let kind = MsgType::from_code(header.base.msg_type);
        if kind != Some(MsgType::SyncStart) && header.epoch != self.sync_epoch {
            let msg = format!(
                "ignore message (msg_type == {}) with wrong epoch ({}/{}/{:08X})",
                header.base.msg_type, header.epoch.nodeid, header.epoch.pid, header.epoch.epoch
            );
            return log(out, Level::Debug, msg);
        }
        match (self.mode, kind) {
            (Mode::Synced, Some(MsgType::UpdateComplete)) => {
                self.mark_all_synced();
                if !self.deliver_queue(out) {
                    self.leave("queue delivery failed", out);
                }
            }
            (Mode::Synced, Some(MsgType::Update)) if from == self.local => {
                if self.update_stream.delivered() {
                    self.send_updates(out);
                }
            }
            (Mode::Synced, Some(MsgType::VerifyRequest)) => {
                self.receive_verify_request(from, header, payload, out)
            }
            (Mode::Synced, Some(MsgType::Verify)) => self.receive_verify(header, payload, out),
            (Mode::Synced, _) => {
                let msg = format!("ignore state sync message {}", header.base.msg_type);
                log(out, Level::Debug, msg);
            }
            (Mode::StartSync, Some(MsgType::SyncStart)) => {
                self.receive_sync_start(from, header, out)
            }
            (Mode::StartSync, Some(MsgType::State)) => {
                self.receive_member_state(from, payload, out)
            }
            (Mode::Update, Some(MsgType::Update)) => {
                let (res, _) =
                    self.with_app(out, |app, ctx| app.process_update(ctx, from, payload));
                if let Err(e) = res {
                    self.app_failed(e, out);
                }
            }
            (Mode::Update, Some(MsgType::UpdateComplete)) => self.receive_update_complete(out),
            (Mode::StartSync | Mode::Update, Some(MsgType::VerifyRequest | MsgType::Verify)) => {
                let msg = format!(
                    "ignore verify message {} while not synced",
                    header.base.msg_type
                );
                log(out, Level::Debug, msg);
            }
            (Mode::StartSync | Mode::Update, _) => {
                let msg = format!(
                    "received unknown state message type (type = {}, {} bytes)",
                    header.base.msg_type,
                    payload.len()
                );
                self.leave(&msg, out);
            }
            (mode, _) => self.leave(
                &format!("internal error - unknown mode {}", mode.code()),
                out,
            ),
        }
    }

    pub(super) fn app_failed(&mut self, e: crate::app::AppError, out: &mut Out<A::Event>) {
        if e.fatal {
            log(out, Level::Critical, e.reason.clone());
            self.set_mode(Mode::Error, out);
        }
        self.leave(&e.reason, out);
    }

    fn mark_all_synced(&mut self) {
        for m in self.members.iter_mut().flatten() {
            m.synced = true;
        }
    }

    fn receive_sync_start(
        &mut self,
        from: MemberId,
        header: &StateHeader,
        out: &mut Out<A::Event>,
    ) {
        if from.nodeid != self.lowest_nodeid {
            log(
                out,
                Level::Critical,
                format!("ignore sync request from wrong member {from}"),
            );
        }
        let e = header.epoch;
        let msg = format!(
            "received sync request (epoch {}/{}/{:08X})",
            e.nodeid, e.pid, e.epoch
        );
        log(out, Level::Notice, msg);
        self.sync_epoch = header.epoch;
        self.release_sync_resources();
        let (state, _) = self.with_app(out, |app, ctx| app.get_state(ctx));
        match state {
            Ok(state) if !state.is_empty() => self.multicast_state(MsgType::State, &state, out),
            Ok(_) => self.leave("get_state returned no state", out),
            Err(e) => self.app_failed(e, out),
        }
    }

    fn receive_member_state(&mut self, from: MemberId, payload: &[u8], out: &mut Out<A::Event>) {
        let Some(member) = self.member_mut(from) else {
            return self.leave(&format!("received state for non-member {from}"), out);
        };
        if member.state.is_some() {
            return self.leave(&format!("received duplicate state for member {from}"), out);
        }
        member.state = Some(payload.to_vec());
        let members = self.members.take().unwrap_or_default();
        if members.iter().any(|m| m.state.is_none()) {
            self.members = Some(members);
            return;
        }
        log(out, Level::Notice, "received all states");
        let states: Vec<MemberState<'_>> = members
            .iter()
            .map(|m| MemberState {
                member: m.id,
                state: m.state.as_deref().unwrap_or_default(),
            })
            .collect();
        let (res, _) = self.with_app(out, |app, ctx| app.process_state_update(ctx, &states));
        drop(states);
        self.members = Some(members);
        let outcome = match res {
            Ok(o) => o,
            Err(e) => return self.app_failed(e, out),
        };
        for id in &outcome.synced {
            if let Some(m) = self.member_mut(*id) {
                m.synced = true;
            }
        }
        self.update_stream = UpdateStream::new(outcome.updates, outcome.update_complete);
        self.send_updates(out);
        if self.member(self.local).is_some_and(|m| m.synced) {
            self.set_mode(Mode::Synced, out);
            self.release_sync_resources();
        } else {
            self.set_mode(Mode::Update, out);
        }
        if !self.deliver_queue(out) {
            self.leave("queue delivery failed", out);
        }
    }

    fn receive_update_complete(&mut self, out: &mut Out<A::Event>) {
        let (res, _) = self.with_app(out, |app, ctx| app.commit(ctx));
        if let Err(e) = res {
            return self.app_failed(e, out);
        }
        self.mark_all_synced();
        self.set_mode(Mode::Synced, out);
        if !self.deliver_sync_queue(out) || !self.deliver_queue(out) {
            return self.leave("queue delivery failed", out);
        }
        self.release_sync_resources();
    }

    fn receive_verify_request(
        &mut self,
        from: MemberId,
        header: &StateHeader,
        payload: &[u8],
        out: &mut Out<A::Event>,
    ) {
        let id = match decode_verify_request(payload) {
            Ok(id) => id,
            Err(e) => return self.leave(&format!("verify request from {from}: {e}"), out),
        };
        if !self.app.supports_verify() {
            return;
        }
        match self.app.checksum() {
            Ok(csum) => self.csum = csum,
            Err(e) => return self.leave(&format!("unable to compute data checksum: {e}"), out),
        }
        self.csum_epoch = header.epoch;
        self.csum_id = id;
        if from == self.local {
            let payload = encode_verify(self.csum_id, &self.csum);
            self.multicast_state(MsgType::Verify, &payload, out);
        }
    }

    fn receive_verify(&mut self, header: &StateHeader, payload: &[u8], out: &mut Out<A::Event>) {
        if !self.app.supports_verify() {
            return;
        }
        let (id, csum) = match decode_verify(payload) {
            Ok(v) => v,
            Err(e) => return self.leave(&format!("cpg received verify message: {e}"), out),
        };
        if self.csum_id == id && self.csum_epoch == header.epoch {
            if csum != self.csum {
                let msg = format!(
                    "wrong checksum {} != {} - restarting",
                    memdb::hex(&csum[..8]),
                    memdb::hex(&self.csum[..8])
                );
                self.leave(&msg, out);
            } else {
                log(out, Level::Notice, "data verification successful");
            }
        } else {
            log(out, Level::Notice, "skip verification - no checksum saved");
        }
    }

    /// The msg_queue pass (§1.9). Returns false if the mode allows no delivery.
    pub(super) fn deliver_queue(&mut self, out: &mut Out<A::Event>) -> bool {
        let queue = std::mem::take(&mut self.msg_queue);
        if !queue.is_empty() {
            log(
                out,
                Level::Notice,
                format!("deliver queue: length {}", queue.len()),
            );
        }
        let mut keep = Vec::new();
        let mut rest = queue.into_iter();
        let mut ok = true;
        for q in rest.by_ref() {
            let Some(synced) = self.member(q.from).map(|m| m.synced) else {
                log(
                    out,
                    Level::Notice,
                    format!("remove message from non-member {}", q.from),
                );
                continue;
            };
            match self.mode {
                Mode::Synced if synced => self.receive(q.from, &q.msg, out),
                Mode::Update if synced => self.sync_queue.push_back(q),
                Mode::Synced | Mode::Update => keep.push(q),
                _ => {
                    keep.push(q);
                    ok = false;
                    break;
                }
            }
        }
        keep.extend(rest);
        // a delivery above may have queued nothing (SYNCED or error mode), so the kept
        // messages are still the whole, sorted queue
        keep.append(&mut self.msg_queue);
        self.msg_queue = keep;
        ok
    }

    /// Replays sync_queue in FIFO order after UPDATE_COMPLETE.
    fn deliver_sync_queue(&mut self, out: &mut Out<A::Event>) -> bool {
        let queue = std::mem::take(&mut self.sync_queue);
        if !queue.is_empty() {
            log(
                out,
                Level::Notice,
                format!("deliver sync queue: length {}", queue.len()),
            );
        }
        let mut ok = true;
        for q in queue {
            if ok && self.mode == Mode::Synced {
                self.receive(q.from, &q.msg, out);
            } else {
                ok = false;
            }
        }
        ok
    }
}
