//! Local inputs: writers' sends, send failures, the verify timer, batch flushes and
//! connection resets.

use super::{log, Action, Dfsm, Level, Mode, Out, SendError, Sent};
use crate::app::Application;
use crate::codec::{encode_normal, encode_verify_request, MsgType};

impl<A: Application> Dfsm<A> {
    /// A local writer sends a NORMAL message and will wait for its result: returns the
    /// message counter to wait for and the multicast to perform. The counter is taken
    /// even if the multicast later fails (report that with [`Dfsm::send_failed`]).
    pub fn send_normal(
        &mut self,
        subtype: u16,
        payload: &[u8],
        now: u32,
    ) -> Result<Sent<A::Event>, SendError> {
        if self.mode.is_error() {
            return Err(SendError::NotConnected(self.mode));
        }
        self.now = now;
        let count = self.next_count();
        self.outstanding.insert(count);
        let bytes = encode_normal(subtype, self.protocol, now, count, payload);
        Ok((count, vec![Action::Multicast(bytes)]))
    }

    /// The driver could not multicast `bytes` (after its retries). A NORMAL message aborts
    /// its waiting writer; a failed UPDATE is only logged; any other state message makes
    /// the node leave (as C).
    pub fn send_failed(&mut self, bytes: &[u8]) -> Vec<Action<A::Event>> {
        let mut out = Vec::new();
        match crate::codec::decode_normal(bytes) {
            Ok((h, _)) if h.base.msg_type == MsgType::Normal.code() => {
                log(&mut out, Level::Critical, "cpg_send_message failed");
                self.abort(h.count, &mut out);
            }
            _ => {
                let kind = bytes.first().copied().unwrap_or(0);
                if u16::from(kind) == MsgType::Update.code() {
                    log(&mut out, Level::Critical, "sending inode update failed");
                } else {
                    self.leave("failed to send a state message", &mut out);
                }
            }
        }
        out
    }

    /// Timer: call at least every second with the current time; sends VERIFY_REQUEST
    /// every `verify_interval` seconds when we are the lowest node and SYNCED.
    pub fn tick(&mut self, now: u32) -> Vec<Action<A::Event>> {
        self.now = now;
        let mut out = Vec::new();
        let Some(interval) = self.app.verify_interval() else {
            return out;
        };
        match self.next_verify {
            None => self.next_verify = Some(now.saturating_add(interval)),
            Some(due) if now >= due => {
                self.next_verify = Some(now.saturating_add(interval));
                self.verify_request(&mut out);
            }
            Some(_) => {}
        }
        out
    }

    /// Sends VERIFY_REQUEST now if the rules allow (lowest node, SYNCED, no request
    /// pending). [`Dfsm::tick`] calls this every `verify_interval`.
    pub fn verify_request_now(&mut self, now: u32) -> Vec<Action<A::Event>> {
        self.now = now;
        let mut out = Vec::new();
        self.verify_request(&mut out);
        out
    }

    fn verify_request(&mut self, out: &mut Out<A::Event>) {
        if self.lowest_nodeid == 0 || self.lowest_nodeid != self.local.nodeid {
            return;
        }
        if self.mode != Mode::Synced {
            return;
        }
        if self.csum_counter != self.csum_id {
            let msg = format!("delay verify request {:016X}", self.csum_counter + 1);
            log(out, Level::Notice, msg);
            return;
        }
        self.csum_counter += 1;
        let payload = encode_verify_request(self.csum_counter);
        self.multicast_state(MsgType::VerifyRequest, &payload, out);
    }

    /// End of a dispatch batch: lets the application send batched messages.
    pub fn flush(&mut self, now: u32) -> Vec<Action<A::Event>> {
        self.now = now;
        let mut out = Vec::new();
        if !self.mode.is_error() {
            self.with_app(&mut out, |app, ctx| app.flush(ctx));
        }
        out
    }

    /// Start of a delivery round (see [`Application::begin_round`]).
    pub fn begin_round(&mut self) {
        self.app.begin_round();
    }

    /// End of a delivery round: `Ok` if the application made the round durable.
    pub fn end_round(&mut self) -> (bool, Vec<Action<A::Event>>) {
        let mut out = Vec::new();
        let (result, _) = self.with_app(&mut out, |app, ctx| app.end_round(ctx));
        let ok = result.is_ok();
        if let Err(e) = result {
            self.app_failed(e, &mut out);
        }
        (ok, out)
    }

    /// Connection (re-)initialization (C `dfsm_initialize`): drops the msg_queue, aborts
    /// every waiting writer, mode START. Refused (no change) if not restartable.
    pub fn reset(&mut self) -> Vec<Action<A::Event>> {
        let mut out = Vec::new();
        if !self.restartable() {
            log(
                &mut out,
                Level::Critical,
                "not restartable - refusing to re-initialize",
            );
            return out;
        }
        self.msg_queue.clear();
        for count in std::mem::take(&mut self.outstanding) {
            out.push(Action::Aborted { count });
        }
        self.deferred.clear();
        self.we_are_member = false;
        self.set_mode(Mode::Start, &mut out);
        out
    }
}
