//! Replays the fuzz corpus (and any crash artifacts) through `fuzz_check`.

use std::path::{Path, PathBuf};

fn replay(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    for file in &files {
        let data = std::fs::read(file).unwrap();
        let result = std::panic::catch_unwind(|| corosync_conf::fuzz_check(&data));
        assert!(result.is_ok(), "fuzz_check failed on {}", file.display());
    }
    files.len()
}

#[test]
fn corpus_passes_fuzz_check() {
    let fuzz = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let corpus = replay(&fuzz.join("corpus/parse"));
    assert!(corpus >= 15, "corpus too small: {corpus} files");
    replay(&fuzz.join("artifacts/parse"));
}
