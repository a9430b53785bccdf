//! Trace tests of the generic machine with a toy application whose state is a byte
//! string (the greatest one wins, the leader sends it as one UPDATE).

use super::*;
use crate::app::{AppError, MemberState, NormalMsg, StateOutcome};
use crate::codec::{decode_normal, decode_state, encode_verify};

#[derive(Default)]
struct Toy {
    data: Vec<u8>,
    update: Option<Vec<u8>>,
    delivered: Vec<(MemberId, u64, Vec<u8>)>,
    synced_calls: usize,
    csum: [u8; 32],
}

impl Application for Toy {
    type Event = ();

    fn protocol_version(&self) -> u32 {
        1
    }

    fn get_state(&mut self, _: &mut Ctx<()>) -> Result<Vec<u8>, AppError> {
        Ok(self.data.clone())
    }

    fn process_state_update(
        &mut self,
        ctx: &mut Ctx<()>,
        states: &[MemberState<'_>],
    ) -> Result<StateOutcome, AppError> {
        let leader = states
            .iter()
            .fold(&states[0], |l, s| if s.state > l.state { s } else { l });
        let mut out = StateOutcome {
            synced: states
                .iter()
                .filter(|s| s.state == leader.state)
                .map(|s| s.member)
                .collect(),
            ..StateOutcome::default()
        };
        if leader.member == ctx.local() {
            out.updates = [&self.data].into_iter().collect();
            out.update_complete = true;
        }
        Ok(out)
    }

    fn process_update(
        &mut self,
        _: &mut Ctx<()>,
        _: MemberId,
        payload: &[u8],
    ) -> Result<(), AppError> {
        self.update = Some(payload.to_vec());
        Ok(())
    }

    fn commit(&mut self, _: &mut Ctx<()>) -> Result<(), AppError> {
        self.data = self
            .update
            .take()
            .ok_or_else(|| AppError::leave("no update"))?;
        Ok(())
    }

    fn deliver(&mut self, _: &mut Ctx<()>, msg: &NormalMsg<'_>) -> Result<i32, AppError> {
        if msg.subtype == 99 {
            return Err(AppError::leave("unknown subtype"));
        }
        self.delivered
            .push((msg.from, msg.count, msg.payload.to_vec()));
        Ok(msg.payload.len() as i32)
    }

    fn synced(&mut self, _: &mut Ctx<()>) {
        self.synced_calls += 1;
    }

    fn supports_verify(&self) -> bool {
        true
    }

    fn checksum(&mut self) -> Result<[u8; 32], AppError> {
        Ok(self.csum)
    }

    fn verify_interval(&self) -> Option<u32> {
        Some(3600)
    }
}

const A: MemberId = MemberId::new(1, 100);
const B: MemberId = MemberId::new(2, 200);
const C: MemberId = MemberId::new(3, 300);
const T: u32 = 1_000_000;

fn toy(id: MemberId, data: &[u8]) -> Dfsm<Toy> {
    let app = Toy {
        data: data.to_vec(),
        ..Toy::default()
    };
    Dfsm::new(app, id)
}

/// The multicasts among the actions.
fn sent(actions: &[Action<()>]) -> Vec<Vec<u8>> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Multicast(b) => Some(b.clone()),
            _ => None,
        })
        .collect()
}

/// Short names of the multicast message types.
fn kinds(actions: &[Action<()>]) -> Vec<&'static str> {
    sent(actions)
        .iter()
        .map(
            |b| match MsgType::from_code(u16::from_le_bytes([b[0], b[1]])) {
                Some(MsgType::Normal) => "NORMAL",
                Some(MsgType::SyncStart) => "SYNC_START",
                Some(MsgType::State) => "STATE",
                Some(MsgType::Update) => "UPDATE",
                Some(MsgType::UpdateComplete) => "UPDATE_COMPLETE",
                Some(MsgType::VerifyRequest) => "VERIFY_REQUEST",
                Some(MsgType::Verify) => "VERIFY",
                None => "?",
            },
        )
        .collect()
}

fn left(actions: &[Action<()>]) -> bool {
    actions.iter().any(|a| matches!(a, Action::Leave))
}

/// Delivers `(from, bytes)` to every machine in order; returns each one's actions.
fn to_all(nodes: &mut [&mut Dfsm<Toy>], from: MemberId, bytes: &[u8]) -> Vec<Vec<Action<()>>> {
    nodes
        .iter_mut()
        .map(|n| n.deliver(from, bytes, T))
        .collect()
}

/// Three members A, B, C with `datas`; runs confchg, SYNC_START and the STATEs, and
/// returns the actions of the STATE round (per node, in order A, B, C).
fn sync3(a: &mut Dfsm<Toy>, b: &mut Dfsm<Toy>, c: &mut Dfsm<Toy>) -> Vec<Vec<Action<()>>> {
    let all = [A, B, C];
    let out_a = a.confchg(&all, &[], &all, T);
    assert_eq!(kinds(&out_a), ["SYNC_START"], "lowest node starts the sync");
    assert!(kinds(&b.confchg(&all, &[], &all, T)).is_empty());
    assert!(kinds(&c.confchg(&all, &[], &all, T)).is_empty());
    assert_eq!(a.mode(), Mode::StartSync);
    let start = sent(&out_a).remove(0);
    let states: Vec<Vec<u8>> = to_all(&mut [a, b, c], A, &start)
        .iter()
        .map(|o| sent(o).remove(0))
        .collect();
    let mut last = Vec::new();
    for (from, state) in all.iter().zip(&states) {
        last = to_all(&mut [a, b, c], *from, state);
    }
    last
}

#[test]
fn three_node_sync_leader_sends_updates() {
    let (mut a, mut b, mut c) = (toy(A, b"v1"), toy(B, b"v2"), toy(C, b"v1"));
    let round = sync3(&mut a, &mut b, &mut c);
    // B has the greatest state: it is the leader and the only sender of updates
    assert_eq!(kinds(&round[1]), ["UPDATE", "UPDATE_COMPLETE"]);
    assert!(kinds(&round[0]).is_empty() && kinds(&round[2]).is_empty());
    assert_eq!(
        (a.mode(), b.mode(), c.mode()),
        (Mode::Update, Mode::Synced, Mode::Update)
    );
    let (update, complete) = (sent(&round[1])[0].clone(), sent(&round[1])[1].clone());
    let (h, payload) = decode_state(&update).unwrap();
    assert_eq!(h.epoch, a.sync_epoch(), "updates carry the adopted epoch");
    assert_eq!(payload, b"v2");
    to_all(&mut [&mut a, &mut b, &mut c], B, &update);
    to_all(&mut [&mut a, &mut b, &mut c], B, &complete);
    for n in [&a, &b, &c] {
        assert_eq!(n.mode(), Mode::Synced);
        assert_eq!(n.app().data, b"v2");
        assert_eq!(n.app().synced_calls, 1);
    }
}

#[test]
fn identical_states_need_no_update() {
    let (mut a, mut b, mut c) = (toy(A, b"x"), toy(B, b"x"), toy(C, b"x"));
    let round = sync3(&mut a, &mut b, &mut c);
    // the leader (first of equals) still sends UPDATE_COMPLETE; everyone is synced at once
    assert_eq!(kinds(&round[0]), ["UPDATE", "UPDATE_COMPLETE"]);
    assert!([&a, &b, &c].iter().all(|n| n.mode() == Mode::Synced));
}

#[test]
fn single_member_is_synced_at_once() {
    let mut a = toy(A, b"x");
    let out = a.confchg(&[A], &[], &[A], T);
    assert!(kinds(&out).is_empty());
    assert_eq!(a.mode(), Mode::Synced);
    assert_eq!(a.app().synced_calls, 1);
    // a confchg that does not contain us while in START is the view before our join
    let mut b = toy(B, b"x");
    assert!(b
        .confchg(&[A], &[], &[A], T)
        .iter()
        .all(|a| !matches!(a, Action::Leave)));
    assert_eq!(b.mode(), Mode::Start);
    // later, a view without us means we left
    assert!(left(&a.confchg(&[B], &[A], &[B], T)));
    assert_eq!(a.mode(), Mode::Leave);
}

#[test]
fn writer_gets_its_result_and_reset_aborts_waiters() {
    let mut a = toy(A, b"x");
    a.confchg(&[A], &[], &[A], T);
    let (count, out) = a.send_normal(7, b"hello", T).unwrap();
    assert_eq!(count, 1);
    let msg = sent(&out).remove(0);
    let (h, payload) = decode_normal(&msg).unwrap();
    assert_eq!((h.base.subtype, h.count, payload), (7, 1, &b"hello"[..]));
    let (count2, _) = a.send_normal(7, b"again", T).unwrap();
    assert_eq!(count2, 2);
    let out = a.deliver(A, &msg, T);
    assert!(out.contains(&Action::Completed {
        count: 1,
        result: 5
    }));
    assert_eq!(a.outstanding(), [2]);
    let out = a.reset();
    assert!(out.contains(&Action::Aborted { count: 2 }));
    assert_eq!(a.mode(), Mode::Start);
    // the counter is never reset
    assert_eq!(a.send_normal(7, b"", T).unwrap().0, 3);
}

/// A, B synced with data "v2", C unsynced ("v1"): during UPDATE mode of C, messages of
/// synced senders go to the sync queue (FIFO), those of C itself to the msg queue (by
/// count); after UPDATE_COMPLETE the sync queue is replayed first.
#[test]
fn queued_messages_are_replayed_after_update_complete_in_order() {
    let (mut a, mut b, mut c) = (toy(A, b"v2"), toy(B, b"v2"), toy(C, b"v1"));
    let all = [A, B, C];
    let start = sent(&a.confchg(&all, &[], &all, T)).remove(0);
    b.confchg(&all, &[], &all, T);
    c.confchg(&all, &[], &all, T);
    // messages sent before the states are in: queued everywhere (msg_queue, by count)
    let (_, c1) = c.send_normal(1, b"c-early", T).unwrap();
    let c1 = sent(&c1).remove(0);
    let b_msgs: Vec<Vec<u8>> = (0..3)
        .map(|_| sent(&b.send_normal(1, b"b", T).unwrap().1).remove(0))
        .collect();
    let states: Vec<Vec<u8>> = to_all(&mut [&mut a, &mut b, &mut c], A, &start)
        .iter()
        .map(|o| sent(o).remove(0))
        .collect();
    to_all(&mut [&mut a, &mut b, &mut c], C, &c1); // count 1 from C
    to_all(&mut [&mut a, &mut b, &mut c], B, &b_msgs[2]); // count 3 from B
    let mut update = Vec::new();
    for (from, state) in all.iter().zip(&states) {
        for (i, o) in to_all(&mut [&mut a, &mut b, &mut c], *from, state)
            .into_iter()
            .enumerate()
        {
            if i == 0 && !sent(&o).is_empty() {
                update = sent(&o);
            }
        }
    }
    assert_eq!(c.mode(), Mode::Update);
    assert_eq!(a.mode(), Mode::Synced);
    // A and B already delivered B#3 (synced sender); C#1 stays queued (unsynced sender)
    assert_eq!(
        a.app()
            .delivered
            .iter()
            .map(|d| (d.0, d.1))
            .collect::<Vec<_>>(),
        [(B, 3)]
    );
    // while C is in UPDATE: B#1 then B#2 go to C's sync queue, in arrival order
    to_all(&mut [&mut a, &mut b, &mut c], B, &b_msgs[0]);
    to_all(&mut [&mut a, &mut b, &mut c], B, &b_msgs[1]);
    let (msgq, syncq) = c.queued();
    assert_eq!(msgq, [(C, 1)]);
    assert_eq!(syncq, [(B, 3), (B, 1), (B, 2)]);
    for u in &update {
        to_all(&mut [&mut a, &mut b, &mut c], A, u);
    }
    assert_eq!(c.mode(), Mode::Synced);
    assert_eq!(c.app().data, b"v2");
    let order: Vec<(MemberId, u64)> = c.app().delivered.iter().map(|d| (d.0, d.1)).collect();
    assert_eq!(
        order,
        [(B, 3), (B, 1), (B, 2), (C, 1)],
        "sync queue (FIFO) first, then msg queue"
    );
    // A (synced) delivered the unsynced sender's queued message after UPDATE_COMPLETE
    let order_a: Vec<(MemberId, u64)> = a.app().delivered.iter().map(|d| (d.0, d.1)).collect();
    assert_eq!(order_a, [(B, 3), (B, 1), (B, 2), (C, 1)]);
}

#[test]
fn own_queued_messages_are_resent_when_someone_joins() {
    let (mut a, mut b) = (toy(A, b"x"), toy(B, b"x"));
    a.confchg(&[A, B], &[], &[A, B], T);
    b.confchg(&[A, B], &[], &[A, B], T);
    let (_, out) = b.send_normal(3, b"mine", T).unwrap();
    let mine = sent(&out).remove(0);
    let (_, out) = a.send_normal(3, b"theirs", T).unwrap();
    let theirs = sent(&out).remove(0);
    b.deliver(A, &theirs, T);
    b.deliver(B, &mine, T);
    assert_eq!(b.queued().0, [(A, 1), (B, 1)]);
    // C joins: B re-multicasts its own queued message byte for byte, then drops the queue
    let out = b.confchg(&[A, B, C], &[], &[C], T);
    assert_eq!(sent(&out), std::slice::from_ref(&mine));
    assert!(b.queued().0.is_empty());
    // without joiners nothing is resent and the queue stays
    b.deliver(B, &mine, T);
    let out = b.confchg(&[A, B], &[C], &[], T);
    assert!(sent(&out).is_empty());
    assert_eq!(b.queued().0, [(B, 1)]);
}

#[test]
fn messages_of_another_epoch_are_dropped() {
    let (mut a, mut b) = (toy(A, b"x"), toy(B, b"y"));
    a.confchg(&[A, B], &[], &[A, B], T);
    b.confchg(&[A, B], &[], &[A, B], T);
    let stale = Epoch {
        epoch: 99,
        time: 1,
        nodeid: 1,
        pid: 100,
    };
    let state = encode_state(MsgType::State, 1, T, &stale, b"zzz");
    let out = b.deliver(A, &state, T);
    assert!(sent(&out).is_empty() && !left(&out));
    assert_eq!(b.mode(), Mode::StartSync);
    // an UPDATE_COMPLETE of an old epoch in SYNCED mode is dropped as well
    let mut s = toy(A, b"x");
    s.confchg(&[A], &[], &[A], T);
    assert!(s
        .deliver(
            A,
            &encode_state(MsgType::UpdateComplete, 1, T, &stale, &[]),
            T
        )
        .iter()
        .all(|a| !matches!(a, Action::Leave)));
}

#[test]
fn protocol_versions() {
    let mut a = toy(A, b"x");
    a.confchg(&[A], &[], &[A], T);
    // lower version: silently ignored
    let old = encode_normal(1, 0, T, 1, b"old");
    assert!(!left(&a.deliver(A, &old, T)));
    assert!(a.app().delivered.is_empty());
    assert_eq!(a.mode(), Mode::Synced);
    // higher version: VERSION_ERROR, leave, never restart
    let new = encode_normal(1, 2, T, 2, b"new");
    let out = a.deliver(A, &new, T);
    assert!(left(&out));
    assert_eq!(a.mode(), Mode::VersionError);
    assert!(!a.restartable());
    assert!(a.send_normal(1, b"", T).is_err());
    // error modes never go down: a LEAVE request does not replace VERSION_ERROR
    a.deliver(A, &[0u8; 3], T);
    assert_eq!(a.mode(), Mode::VersionError);
    assert!(a
        .reset()
        .iter()
        .all(|x| !matches!(x, Action::ModeChanged { .. })));
}

#[test]
fn verify_match_and_mismatch() {
    let (mut a, mut b) = (toy(A, b"x"), toy(B, b"x"));
    let round = {
        let start = sent(&a.confchg(&[A, B], &[], &[A, B], T)).remove(0);
        b.confchg(&[A, B], &[], &[A, B], T);
        let sa = sent(&a.deliver(A, &start, T)).remove(0);
        let sb = sent(&b.deliver(A, &start, T)).remove(0);
        a.deliver(A, &sa, T);
        b.deliver(A, &sa, T);
        let r = (a.deliver(B, &sb, T), b.deliver(B, &sb, T));
        sent(&r.0)
    };
    for m in &round {
        a.deliver(A, m, T);
        b.deliver(A, m, T);
    }
    assert_eq!((a.mode(), b.mode()), (Mode::Synced, Mode::Synced));
    // only the lowest node asks, every 3600 s
    assert!(sent(&b.tick(T)).is_empty() && sent(&b.tick(T + 4000)).is_empty());
    assert!(sent(&a.tick(T)).is_empty());
    assert!(sent(&a.tick(T + 3599)).is_empty());
    let req = sent(&a.tick(T + 3600));
    assert_eq!(
        kinds(&[Action::Multicast(req[0].clone())]),
        ["VERIFY_REQUEST"]
    );
    // a second request while the first is pending is delayed
    assert!(sent(&a.verify_request_now(T + 3601)).is_empty());
    a.app_mut().csum = [7; 32];
    b.app_mut().csum = [7; 32];
    let verify = sent(&a.deliver(A, &req[0], T));
    assert!(
        sent(&b.deliver(A, &req[0], T)).is_empty(),
        "only the requester answers"
    );
    let out = b.deliver(A, &verify[0], T);
    assert!(!left(&out));
    assert!(out.iter().any(
        |x| matches!(x, Action::Log { message, .. } if message == "data verification successful")
    ));
    // mismatch: B's data differs → B leaves (and will resync)
    let req2 = sent(&a.verify_request_now(T + 7200));
    a.deliver(A, &req2[0], T);
    b.app_mut().csum = [8; 32];
    b.deliver(A, &req2[0], T);
    let (h, _) = decode_state(&req2[0]).unwrap();
    let forged = encode_state(MsgType::Verify, 1, T, &h.epoch, &encode_verify(2, &[7; 32]));
    assert!(left(&b.deliver(A, &forged, T)));
    assert_eq!(b.mode(), Mode::Leave);
    assert!(b.restartable());
}

#[test]
fn hostile_messages_make_the_node_leave_without_touching_data() {
    let fresh = || {
        let (mut a, mut b) = (toy(A, b"x"), toy(B, b"y"));
        a.confchg(&[A, B], &[], &[A, B], T);
        b.confchg(&[A, B], &[], &[A, B], T);
        b
    };
    let epoch = fresh().sync_epoch();
    let cases: Vec<(&str, MemberId, Vec<u8>)> = vec![
        ("short base header", A, vec![0; 15]),
        (
            "short normal header",
            A,
            encode_normal(1, 1, T, 1, &[])[..23].to_vec(),
        ),
        (
            "short state header",
            A,
            encode_state(MsgType::State, 1, T, &epoch, &[])[..31].to_vec(),
        ),
        ("unknown state type", A, {
            let mut m = encode_state(MsgType::State, 1, T, &epoch, b"s");
            m[0] = 9;
            m
        }),
        (
            "UPDATE in START_SYNC",
            A,
            encode_state(MsgType::Update, 1, T, &epoch, b"u"),
        ),
        (
            "normal from a non-member",
            C,
            encode_normal(1, 1, T, 1, b"n"),
        ),
        (
            "state from a non-member",
            C,
            encode_state(MsgType::State, 1, T, &epoch, b"s"),
        ),
    ];
    for (what, from, bytes) in cases {
        let mut b = fresh();
        let out = b.deliver(from, &bytes, T);
        assert!(left(&out), "{what}: must leave");
        assert_eq!(b.mode(), Mode::Leave, "{what}");
        assert_eq!(b.app().data, b"y", "{what}: data untouched");
        assert!(b.app().delivered.is_empty(), "{what}");
    }
    // duplicate STATE from the same member
    let mut b = fresh();
    let own = b.sync_epoch();
    let state = encode_state(MsgType::State, 1, T, &own, b"s");
    assert!(!left(&b.deliver(A, &state, T)));
    assert!(left(&b.deliver(A, &state, T)));
    // wrong VERIFY_REQUEST length in SYNCED mode
    let mut s = toy(A, b"x");
    s.confchg(&[A], &[], &[A], T);
    let e = s.sync_epoch();
    assert!(left(&s.deliver(
        A,
        &encode_state(MsgType::VerifyRequest, 1, T, &e, &[1, 2, 3]),
        T
    )));
    // unknown application subtype in SYNCED mode: the application refuses, node leaves
    let mut s = toy(A, b"x");
    s.confchg(&[A], &[], &[A], T);
    assert!(left(&s.deliver(A, &encode_normal(99, 1, T, 1, b"?"), T)));
    assert!(s.app().delivered.is_empty());
    // in SYNCED mode an unknown state type is ignored (as C)
    let mut s = toy(A, b"x");
    s.confchg(&[A], &[], &[A], T);
    let e = s.sync_epoch();
    let mut odd = encode_state(MsgType::State, 1, T, &e, b"s");
    odd[0] = 42;
    assert!(!left(&s.deliver(A, &odd, T)));
    assert_eq!(s.mode(), Mode::Synced);
}
