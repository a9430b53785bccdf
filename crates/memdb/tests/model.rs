//! Random operation sequences: a persistent Memdb and a simple map model agree on every
//! result and on the final content; reopening reproduces the same checksum.

use std::collections::BTreeMap;

use memdb::{Errno, Kind, Memdb, Op};
use proptest::prelude::*;

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Dir,
    File(Vec<u8>),
}

#[derive(Default)]
struct Model(BTreeMap<String, Node>);

fn parent(p: &str) -> &str {
    p.rfind('/').map_or("", |i| &p[..i])
}

impl Model {
    fn get(&self, p: &str) -> Option<&Node> {
        if p.is_empty() {
            Some(&Node::Dir)
        } else {
            self.0.get(p)
        }
    }

    fn has_children(&self, p: &str) -> bool {
        let prefix = format!("{p}/");
        self.0.keys().any(|k| k.starts_with(&prefix))
    }

    fn check_parent(&self, p: &str) -> Result<(), Errno> {
        match self.get(parent(p)) {
            None => Err(Errno::Enoent),
            Some(Node::File(_)) => Err(Errno::Enotdir),
            Some(Node::Dir) => Ok(()),
        }
    }

    fn apply(&mut self, op: &Op) -> Result<u64, Errno> {
        match op {
            Op::Create { path } => {
                self.check_parent(path)?;
                match self.get(path) {
                    Some(Node::Dir) => Err(Errno::Enotdir),
                    Some(Node::File(_)) => Err(Errno::Eexist),
                    None => {
                        self.0.insert(path.clone(), Node::File(Vec::new()));
                        Ok(0)
                    }
                }
            }
            Op::Write {
                path,
                offset,
                data,
                truncate,
            } => {
                self.check_parent(path)?;
                let Some(Node::File(old)) = self.0.get_mut(path) else {
                    return Err(if self.0.contains_key(path) {
                        Errno::Enotdir
                    } else {
                        Errno::Enoent
                    });
                };
                let end = *offset as usize + data.len();
                if *truncate || end > old.len() {
                    old.resize(end, 0);
                }
                old[*offset as usize..end].copy_from_slice(data);
                Ok(data.len() as u64)
            }
            Op::Mkdir { path } => {
                self.check_parent(path)?;
                if self.0.contains_key(path) {
                    return Err(Errno::Eexist);
                }
                self.0.insert(path.clone(), Node::Dir);
                Ok(0)
            }
            Op::Delete { path } => {
                if !self.0.contains_key(path) {
                    return Err(Errno::Enoent);
                }
                if self.has_children(path) {
                    return Err(Errno::Enotempty);
                }
                self.0.remove(path);
                Ok(0)
            }
            Op::Rename { from, to } => {
                if !self.0.contains_key(from) {
                    return Err(Errno::Enoent);
                }
                if self.0.contains_key(to) {
                    if self.has_children(to) {
                        return Err(Errno::Enotempty);
                    }
                    if to == from {
                        return Ok(0);
                    }
                } else {
                    self.check_parent(to)?;
                }
                if self.has_children(from) {
                    return Err(Errno::Enotempty);
                }
                if parent(to) == from {
                    return Err(Errno::Einval);
                }
                let node = self.0.remove(from).unwrap();
                self.0.insert(to.clone(), node);
                Ok(0)
            }
            Op::Mtime { path, .. } => {
                self.check_parent(path)?;
                self.0.get(path).map(|_| 0).ok_or(Errno::Enoent)
            }
        }
    }
}

fn snapshot(m: &Memdb) -> BTreeMap<String, Node> {
    fn walk(m: &Memdb, dir: &str, out: &mut BTreeMap<String, Node>) {
        for (name, info) in m.readdir(dir).unwrap() {
            let p = if dir.is_empty() {
                name
            } else {
                format!("{dir}/{name}")
            };
            if info.kind == Kind::Dir {
                out.insert(p.clone(), Node::Dir);
                walk(m, &p, out);
            } else {
                out.insert(p.clone(), Node::File(m.read(&p, 0, usize::MAX).unwrap()));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(m, "", &mut out);
    out
}

fn arb_path() -> impl Strategy<Value = String> {
    proptest::collection::vec(prop_oneof![Just("a"), Just("b"), Just("c")], 1..=3)
        .prop_map(|v| v.join("/"))
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => arb_path().prop_map(|path| Op::Create { path }),
        3 => (arb_path(), 0u64..8, proptest::collection::vec(any::<u8>(), 0..6), any::<bool>())
            .prop_map(|(path, offset, data, truncate)| Op::Write { path, offset, data, truncate }),
        3 => arb_path().prop_map(|path| Op::Mkdir { path }),
        2 => arb_path().prop_map(|path| Op::Delete { path }),
        2 => (arb_path(), arb_path()).prop_map(|(from, to)| Op::Rename { from, to }),
        1 => (arb_path(), any::<u32>()).prop_map(|(path, mtime)| Op::Mtime { path, mtime }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    #[test]
    fn memdb_agrees_with_model(ops in proptest::collection::vec(arb_op(), 1..60)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.db");
        let m = Memdb::open(&path).unwrap();
        let mut model = Model::default();
        for (i, op) in ops.iter().enumerate() {
            let expected = model.apply(op);
            let got = m.apply(op, 1 + i as u32 % 3, 1000 + i as u32);
            prop_assert_eq!(got, expected, "step {}: {:?}", i, op);
            m.index(); // fills the digest cache a later change must reset
        }
        prop_assert_eq!(&snapshot(&m), &model.0);
        let sum = m.checksum();
        let index = m.index();
        drop(m);
        let m = Memdb::open(&path).unwrap();
        prop_assert_eq!(m.checksum(), sum);
        prop_assert_eq!(m.index(), index, "cached digests equal freshly computed ones");
        prop_assert_eq!(&snapshot(&m), &model.0);
    }
}
