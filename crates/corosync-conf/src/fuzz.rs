//! The property check shared by the fuzzer, the corpus replay test and the property tests.

use crate::Config;

/// Checks the parser's promises on arbitrary input; panics when one is broken.
///
/// Input that is not UTF-8 or does not parse is ignored. For input that parses: the
/// unedited text comes back byte-for-byte; the canonical text parses again to the sorted tree
/// (same view, same comments) and is a fixed point; validation, `config_version` bumping and
/// the update check run without panicking.
#[doc(hidden)]
pub fn fuzz_check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(conf) = Config::parse(text) else {
        return;
    };
    assert!(!conf.is_modified());
    assert_eq!(
        conf.to_text(),
        text,
        "unedited text must come back unchanged"
    );

    let canonical = conf.to_canonical_text();
    let reparsed = match Config::parse(&canonical) {
        Ok(c) => c,
        Err(e) => panic!("canonical text does not parse ({e}):\n{canonical}"),
    };
    let sorted = conf.sorted();
    assert_eq!(
        reparsed.root(),
        sorted.root(),
        "canonical text must read back as the sorted tree"
    );
    assert_eq!(reparsed.view(), sorted.view());
    assert_eq!(
        reparsed.to_canonical_text(),
        canonical,
        "canonical text must be a fixed point"
    );

    let _ = conf.validate();
    let _ = reparsed.validate();
    let mut bumped = conf.clone();
    if bumped.bump_config_version().is_ok() {
        let _ = bumped.validate_update(&conf);
        assert!(bumped.is_modified());
    }
}
