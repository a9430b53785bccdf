//! The leader's UPDATE records, multicast a window at a time.
//!
//! Corosync hands a member its own messages back through a 1 MiB IPC ring. While the
//! dispatch thread multicasts, nothing empties that ring; once it is full, Corosync keeps the
//! deliveries in memory and retries them from its main loop, which slows the whole ring and
//! refuses further multicasts (TRY_AGAIN). So at most [`WINDOW`] bytes of updates are in
//! flight: each own update delivered back frees its bytes, and sending resumes once half the
//! window is free. UPDATE_COMPLETE follows the last update at once.
//!
//! The records wait in the application's one buffer ([`UpdateRecords`]) until sent.

use std::collections::VecDeque;

use crate::app::UpdateRecords;

/// Bytes of updates multicast but not yet delivered back (at least one update is sent).
pub(super) const WINDOW: usize = 256 * 1024;

/// Updates still to send and sizes of those in flight.
#[derive(Debug, Default)]
pub(super) struct UpdateStream {
    records: Vec<u8>,
    /// End offsets in `records` of the updates not yet sent.
    unsent: VecDeque<usize>,
    sent_until: usize,
    in_flight: VecDeque<usize>,
    in_flight_bytes: usize,
    complete_unsent: bool,
}

/// What to multicast now.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Batch {
    /// UPDATE payloads, in order.
    pub updates: Vec<Vec<u8>>,
    /// Send UPDATE_COMPLETE after them.
    pub complete: bool,
}

impl UpdateStream {
    /// A stream of `updates`, followed by UPDATE_COMPLETE if `complete`.
    pub fn new(updates: UpdateRecords, complete: bool) -> UpdateStream {
        UpdateStream {
            records: updates.bytes,
            unsent: updates.ends.into(),
            complete_unsent: complete,
            ..UpdateStream::default()
        }
    }

    /// Takes what fits into the window now.
    pub fn next_batch(&mut self) -> Batch {
        let mut batch = Batch::default();
        while let Some(&end) = self.unsent.front() {
            let len = end - self.sent_until;
            if self.in_flight_bytes > 0 && self.in_flight_bytes + len > WINDOW {
                break;
            }
            self.unsent.pop_front();
            batch
                .updates
                .push(self.records[self.sent_until..end].to_vec());
            self.sent_until = end;
            self.in_flight_bytes += len;
            self.in_flight.push_back(len);
        }
        if self.unsent.is_empty() {
            self.records = Vec::new();
            self.sent_until = 0;
            batch.complete = std::mem::take(&mut self.complete_unsent);
        }
        batch
    }

    /// One of our updates came back. True when sending should resume.
    pub fn delivered(&mut self) -> bool {
        if let Some(size) = self.in_flight.pop_front() {
            self.in_flight_bytes -= size;
        }
        !self.unsent.is_empty() && self.in_flight_bytes <= WINDOW / 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn updates(n: usize, size: usize) -> Vec<Vec<u8>> {
        (0..n).map(|i| vec![i as u8; size]).collect()
    }

    fn stream(updates: Vec<Vec<u8>>, complete: bool) -> UpdateStream {
        UpdateStream::new(updates.into_iter().collect(), complete)
    }

    #[test]
    fn sends_a_window_then_resumes_at_half_of_it() {
        let size = WINDOW / 8;
        let all = updates(20, size);
        let mut stream = stream(all.clone(), true);
        let first = stream.next_batch();
        assert_eq!(first.updates, all[..8].to_vec());
        assert!(!first.complete);
        assert!(stream.next_batch().updates.is_empty(), "window full");
        assert!(!stream.delivered(), "7/8 of the window still in flight");
        assert!(!stream.delivered());
        assert!(!stream.delivered());
        assert!(stream.delivered(), "half free");
        assert_eq!(stream.next_batch().updates, all[8..12].to_vec());
    }

    #[test]
    fn update_complete_follows_the_last_update_in_the_same_batch() {
        let mut stream = stream(updates(3, 10), true);
        let batch = stream.next_batch();
        assert_eq!(batch.updates.len(), 3);
        assert!(batch.complete);
        assert_eq!(stream.next_batch(), Batch::default(), "sent once");
        assert!(!stream.delivered(), "nothing left to send");
    }

    #[test]
    fn an_update_larger_than_the_window_goes_alone() {
        let mut stream = stream(vec![vec![1; WINDOW * 2], vec![2; 10]], false);
        assert_eq!(stream.next_batch().updates.len(), 1);
        assert!(stream.next_batch().updates.is_empty());
        assert!(stream.delivered());
        assert_eq!(stream.next_batch().updates, vec![vec![2; 10]]);
    }

    #[test]
    fn nothing_to_send_without_updates_or_completion() {
        let mut stream = UpdateStream::default();
        assert_eq!(stream.next_batch(), Batch::default());
        assert!(!stream.delivered(), "a stray delivery is harmless");
    }
}
