//! The order in which sorted and merged rings hold their entries.
//!
//! The original orders entries by `(time, node_digest, uid)` ascending, but its
//! comparator returns the *difference* of the fields as a C `int`: the u32 differences of
//! `time` and `uid` wrap (harmless for real clocks and counters), while the u64 difference
//! of the node digests is truncated to its low 32 bits and read as signed. So two entries
//! of the same second from different nodes are ordered by the sign of
//! `(low32(d1) - low32(d2)) as i32`, not by the digests themselves. That *does* change
//! real results: the order of same-second entries of different nodes in every sorted or
//! merged ring, and so in `.clusterlog`. The relation is not even transitive (three
//! nodes logging in the same second form a cycle in about a quarter of all cases), so
//! the order then depends on the shape of the GLib balanced tree the entries were
//! inserted into.
//!
//! We reproduce it exactly: [`quirk_cmp`] is the original comparator, and [`EntryTree`]
//! is an insert-only AVL tree with the same rebalancing rules as GLib's `GTree` (which
//! the original uses), comparing `(new, existing)` in the same argument order, fed in
//! the same insertion order. Its in-order walk is then the original's ring order, cycles
//! included.

use std::cmp::Ordering;

use super::entry::Entry;

/// The original comparator, as the sign of the C `int` it returns.
pub fn quirk_cmp(a: &Entry, b: &Entry) -> Ordering {
    let diff = if a.time != b.time {
        a.time.wrapping_sub(b.time) as i32
    } else if a.node_digest != b.node_digest {
        a.node_digest.wrapping_sub(b.node_digest) as u32 as i32
    } else {
        a.uid.wrapping_sub(b.uid) as i32
    };
    diff.cmp(&0)
}

#[derive(Debug, Clone)]
struct Node {
    entry: Entry,
    left: Option<usize>,
    right: Option<usize>,
    height: u32,
}

/// An insert-only AVL tree of entries keyed by [`quirk_cmp`] (equal keys replace the
/// stored entry, as `g_tree_insert` replaces the value).
#[derive(Debug, Clone, Default)]
pub struct EntryTree {
    nodes: Vec<Node>,
    root: Option<usize>,
}

impl EntryTree {
    /// An empty tree.
    pub fn new() -> EntryTree {
        EntryTree::default()
    }

    /// Number of stored entries.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// True if searching for `entry` (the GLib way) finds an equal key.
    pub fn contains(&self, entry: &Entry) -> bool {
        let mut cur = self.root;
        while let Some(n) = cur {
            let node = &self.nodes[n];
            cur = match quirk_cmp(entry, &node.entry) {
                Ordering::Equal => return true,
                Ordering::Less => node.left,
                Ordering::Greater => node.right,
            };
        }
        false
    }

    /// Inserts `entry`, replacing the stored entry of an equal key.
    pub fn insert(&mut self, entry: Entry) {
        let root = self.root;
        self.root = Some(self.insert_at(root, entry));
    }

    /// The entries in ascending tree order.
    pub fn into_sorted(self) -> Vec<Entry> {
        let mut order = Vec::with_capacity(self.nodes.len());
        let mut stack = Vec::new();
        let mut cur = self.root;
        while cur.is_some() || !stack.is_empty() {
            while let Some(n) = cur {
                stack.push(n);
                cur = self.nodes[n].left;
            }
            if let Some(n) = stack.pop() {
                order.push(n);
                cur = self.nodes[n].right;
            }
        }
        let mut slots: Vec<Option<Entry>> = self.nodes.into_iter().map(|n| Some(n.entry)).collect();
        order.into_iter().filter_map(|n| slots[n].take()).collect()
    }

    fn height(&self, n: Option<usize>) -> u32 {
        n.map_or(0, |n| self.nodes[n].height)
    }

    fn update(&mut self, n: usize) {
        let h = self
            .height(self.nodes[n].left)
            .max(self.height(self.nodes[n].right))
            + 1;
        self.nodes[n].height = h;
    }

    /// Right height minus left height (GLib's balance factor).
    fn balance(&self, n: usize) -> i64 {
        i64::from(self.height(self.nodes[n].right)) - i64::from(self.height(self.nodes[n].left))
    }

    fn insert_at(&mut self, at: Option<usize>, entry: Entry) -> usize {
        let Some(n) = at else {
            self.nodes.push(Node {
                entry,
                left: None,
                right: None,
                height: 1,
            });
            return self.nodes.len() - 1;
        };
        match quirk_cmp(&entry, &self.nodes[n].entry) {
            Ordering::Equal => {
                self.nodes[n].entry = entry;
                return n;
            }
            Ordering::Less => {
                let l = self.insert_at(self.nodes[n].left, entry);
                self.nodes[n].left = Some(l);
            }
            Ordering::Greater => {
                let r = self.insert_at(self.nodes[n].right, entry);
                self.nodes[n].right = Some(r);
            }
        }
        self.update(n);
        self.rebalance(n)
    }

    fn rebalance(&mut self, n: usize) -> usize {
        let bal = self.balance(n);
        if bal < -1 {
            if let Some(l) = self.nodes[n].left {
                if self.balance(l) > 0 {
                    let nl = self.rotate_left(l);
                    self.nodes[n].left = Some(nl);
                }
            }
            return self.rotate_right(n);
        }
        if bal > 1 {
            if let Some(r) = self.nodes[n].right {
                if self.balance(r) < 0 {
                    let nr = self.rotate_right(r);
                    self.nodes[n].right = Some(nr);
                }
            }
            return self.rotate_left(n);
        }
        n
    }

    fn rotate_left(&mut self, n: usize) -> usize {
        let Some(r) = self.nodes[n].right else {
            return n;
        };
        self.nodes[n].right = self.nodes[r].left;
        self.nodes[r].left = Some(n);
        self.update(n);
        self.update(r);
        r
    }

    fn rotate_right(&mut self, n: usize) -> usize {
        let Some(l) = self.nodes[n].left else {
            return n;
        };
        self.nodes[n].left = self.nodes[l].right;
        self.nodes[l].right = Some(n);
        self.update(n);
        self.update(l);
        l
    }
}
