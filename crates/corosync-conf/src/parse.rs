//! Line-based parser following corosync's own reader (coroparse, 3.1.7).
//!
//! Each line is classified on its own: a `{` anywhere opens a section, else a `:` makes a
//! `key: value` pair, else it must be a lone `}`. Comment lines (`#` as first non-blank) and
//! blank lines are skipped by corosync; here comments are kept in the tree. There are no
//! inline comments. Only the blanks corosync knows (space and tab) are trimmed.
//!
//! Deliberate difference: corosync refuses lines longer than 510 bytes while reading; this
//! parser accepts them and [`crate::Config::validate`] reports them, because the limit is a
//! property of the written text (indentation included), not of the tree.

use crate::ast::{Entry, Item, Section};

/// Longest cmap key name corosync accepts (`ICMAP_KEYNAME_MAXLEN`).
pub(crate) const KEYNAME_MAXLEN: usize = 255;

/// A grammar error, reported as corosync does: `parser error: <line>: <reason>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("parser error: {line}: {reason}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong, in corosync's words.
    pub reason: ParseErrorReason,
}

/// The reasons corosync's parser gives, with its exact texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseErrorReason {
    /// `{` with nothing before it.
    #[error("Missing section name before opening bracket '{{'")]
    MissingSectionName,
    /// Something follows the `{` on the same line.
    #[error("Extra characters after opening bracket '{{'")]
    ExtraAfterOpeningBracket,
    /// Dotted section path of 255 bytes or more.
    #[error("Start of section makes total cmap path too long")]
    SectionPathTooLong,
    /// Dotted key path of 255 bytes or more.
    #[error("New key makes total cmap path too long")]
    KeyPathTooLong,
    /// A `}` line with other text on it.
    #[error("Extra characters before or after closing bracket '}}'")]
    ExtraAroundClosingBracket,
    /// `}` outside any section.
    #[error("Unexpected closing brace")]
    UnexpectedClosingBrace,
    /// Neither section start, key/value nor section end.
    #[error("Line is not opening or closing section or key value")]
    NotSectionOrKeyValue,
    /// End of file inside a section.
    #[error("Missing closing brace")]
    MissingClosingBrace,
}

/// The blanks corosync trims: space and tab.
pub(crate) fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Trims like corosync's `remove_whitespace`: leading blanks, then trailing blanks (and, with
/// `colon_and_brace`, trailing `:` and `{`), never removing the first remaining character.
pub(crate) fn corosync_trim(s: &str, colon_and_brace: bool) -> &str {
    let s = s.trim_start_matches(is_blank);
    let mut end = s.len();
    let first_len = s.chars().next().map_or(0, char::len_utf8);
    for (i, c) in s.char_indices().rev() {
        if i < first_len {
            break;
        }
        let strip = is_blank(c) || (colon_and_brace && (c == ':' || c == '{'));
        if !strip {
            break;
        }
        end = i;
    }
    &s[..end]
}

/// Splits text into lines as `fgets` sees them (without the `\n`), then removes one trailing
/// `\r` and the trailing blanks, as corosync does.
pub(crate) fn logical_lines(text: &str) -> impl Iterator<Item = &str> {
    let body = text.strip_suffix('\n').unwrap_or(text);
    let lines = if text.is_empty() {
        None
    } else {
        Some(body.split('\n'))
    };
    lines.into_iter().flatten().map(|raw| {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        raw.trim_end_matches(is_blank)
    })
}

struct Frame {
    section: Section,
    pending: Vec<String>,
    path_len: usize,
}

/// Parses corosync.conf text into a document tree.
pub(crate) fn parse(text: &str) -> Result<Section, ParseError> {
    let mut stack: Vec<Frame> = vec![Frame {
        section: Section::new(""),
        pending: Vec::new(),
        path_len: 0,
    }];
    let mut line_no = 0;
    for line in logical_lines(text) {
        line_no += 1;
        let err = |reason| ParseError {
            line: line_no,
            reason,
        };
        let content = line.trim_start_matches(is_blank);
        let at_top = stack.len() == 1;
        let top = stack
            .last_mut()
            .expect("the document frame is never popped");
        if content.is_empty() {
            // An empty line after comments at the top of the file ends a header block.
            if at_top && top.section.entries.is_empty() {
                let mut block = std::mem::take(&mut top.pending);
                top.section.header_comments.append(&mut block);
            }
            continue;
        }
        if content.starts_with('#') {
            top.pending.push(content.to_string());
            continue;
        }
        if let Some(pos) = line.find('{') {
            let name = corosync_trim(cut_before(line, pos), true);
            if name.is_empty() {
                return Err(err(ParseErrorReason::MissingSectionName));
            }
            if !line[pos + 1..].trim_matches(is_blank).is_empty() {
                return Err(err(ParseErrorReason::ExtraAfterOpeningBracket));
            }
            if top.path_len + name.len() + 1 >= KEYNAME_MAXLEN {
                return Err(err(ParseErrorReason::SectionPathTooLong));
            }
            let path_len = joined_len(top.path_len, name.len());
            let pending = std::mem::take(&mut top.pending);
            stack.push(Frame {
                section: Section::new(name),
                pending: Vec::new(),
                path_len,
            });
            // The comments above the opening line belong to the section entry; they are
            // attached when the section closes.
            stack
                .last_mut()
                .expect("just pushed")
                .section
                .trailing_comments = pending;
            continue;
        }
        if let Some(pos) = line.find(':') {
            let key = corosync_trim(cut_before(line, pos), true);
            let value = line[pos + 1..].trim_matches(is_blank);
            if top.path_len + key.len() + 1 >= KEYNAME_MAXLEN {
                return Err(err(ParseErrorReason::KeyPathTooLong));
            }
            let comments = std::mem::take(&mut top.pending);
            top.section.entries.push(Entry {
                comments,
                item: Item::Value {
                    key: key.to_string(),
                    value: value.to_string(),
                },
            });
            continue;
        }
        if line.contains('}') {
            if corosync_trim(line, false) != "}" {
                return Err(err(ParseErrorReason::ExtraAroundClosingBracket));
            }
            if stack.len() == 1 {
                return Err(err(ParseErrorReason::UnexpectedClosingBrace));
            }
            let mut frame = stack.pop().expect("checked above");
            let comments = std::mem::replace(&mut frame.section.trailing_comments, frame.pending);
            let parent = stack.last_mut().expect("checked above");
            parent.section.entries.push(Entry {
                comments,
                item: Item::Section(frame.section),
            });
            continue;
        }
        return Err(err(ParseErrorReason::NotSectionOrKeyValue));
    }
    if stack.len() > 1 {
        return Err(ParseError {
            line: line_no,
            reason: ParseErrorReason::MissingClosingBrace,
        });
    }
    let mut frame = stack.pop().expect("document frame");
    frame.section.trailing_comments = frame.pending;
    Ok(frame.section)
}

/// The text corosync takes as name or key for a separator (`{` or `:`) at `pos`: it cuts the
/// line just before the first non-blank after the separator, so with blanks after it the
/// separator itself stays in (and is trimmed later). This is why `: v` has the key `:` while
/// `:v` has the empty key.
fn cut_before(line: &str, pos: usize) -> &str {
    let blanks = line[pos + 1..].len() - line[pos + 1..].trim_start_matches(is_blank).len();
    &line[..pos + blanks]
}

/// Length of `path + "." + name` (no dot at the top level).
fn joined_len(path_len: usize, name_len: usize) -> usize {
    if path_len == 0 {
        name_len
    } else {
        path_len + 1 + name_len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(text: &str) -> (usize, ParseErrorReason) {
        let e = parse(text).unwrap_err();
        (e.line, e.reason)
    }

    #[test]
    fn trim_like_corosync() {
        assert_eq!(corosync_trim("  totem : ", true), "totem");
        assert_eq!(corosync_trim(": :", true), ":");
        assert_eq!(corosync_trim("::", true), ":");
        assert_eq!(corosync_trim("\t key \t", false), "key");
        assert_eq!(corosync_trim("", true), "");
        assert_eq!(corosync_trim("a:", false), "a:");
    }

    #[test]
    fn lines_strip_one_cr_then_blanks() {
        let lines: Vec<&str> = logical_lines("a \r\nb\r\r\n\nc\t").collect();
        assert_eq!(lines, vec!["a", "b\r", "", "c"]);
        assert_eq!(logical_lines("").count(), 0);
        assert_eq!(logical_lines("\n").count(), 1);
    }

    #[test]
    fn sections_values_and_comments() {
        let text = "# top\ntotem: {\n  # about version\n  version: 2\n  cluster_name:x: y \n  empty:\n  # closing\n}\n# eof\n";
        let root = parse(text).unwrap();
        assert_eq!(root.trailing_comments, vec!["# eof"]);
        let e = &root.entries[0];
        assert_eq!(e.comments, vec!["# top"]);
        let Item::Section(totem) = &e.item else {
            panic!("section expected")
        };
        assert_eq!(totem.name, "totem");
        assert_eq!(totem.entries[0].comments, vec!["# about version"]);
        assert_eq!(totem.get("version"), Some("2"));
        assert_eq!(totem.get("cluster_name"), Some("x: y"));
        assert_eq!(totem.get("empty"), Some(""));
        assert_eq!(totem.trailing_comments, vec!["# closing"]);
    }

    #[test]
    fn header_comments_end_with_an_empty_line() {
        let root =
            parse("# header\n\n# more header\n\n# about a\na: 1\n\n# not header\nb: 2\n").unwrap();
        assert_eq!(root.header_comments, vec!["# header", "# more header"]);
        assert_eq!(root.entries[0].comments, vec!["# about a"]);
        assert_eq!(root.entries[1].comments, vec!["# not header"]);
    }

    #[test]
    fn no_inline_comments() {
        let root = parse("a: b # c\n").unwrap();
        assert_eq!(root.get("a"), Some("b # c"));
    }

    #[test]
    fn errors_have_corosync_texts_and_lines() {
        assert_eq!(
            reason("\n{\n}\n"),
            (2, ParseErrorReason::MissingSectionName)
        );
        assert_eq!(
            reason("totem { version: 2 }\n"),
            (1, ParseErrorReason::ExtraAfterOpeningBracket)
        );
        assert_eq!(
            reason("totem {\n} x\n"),
            (2, ParseErrorReason::ExtraAroundClosingBracket)
        );
        assert_eq!(reason("}\n"), (1, ParseErrorReason::UnexpectedClosingBrace));
        assert_eq!(
            reason("a {\nfoo\n}\n"),
            (2, ParseErrorReason::NotSectionOrKeyValue)
        );
        assert_eq!(
            reason("a {\nb {\n}\n"),
            (3, ParseErrorReason::MissingClosingBrace)
        );
        let long = format!("{} {{\n}}\n", "s".repeat(254));
        assert_eq!(reason(&long), (1, ParseErrorReason::SectionPathTooLong));
        let long = format!("t {{\n{}: v\n}}\n", "k".repeat(253));
        assert_eq!(reason(&long), (2, ParseErrorReason::KeyPathTooLong));
        let e = parse("}\n").unwrap_err();
        assert_eq!(e.to_string(), "parser error: 1: Unexpected closing brace");
    }

    #[test]
    fn path_length_limit_is_exact() {
        // path "t" (1) + key (252) + 1 = 254 < 255: accepted; one more byte is refused.
        assert!(parse(&format!("t {{\n{}: v\n}}\n", "k".repeat(253))).is_err());
        assert!(parse(&format!("t {{\n{}: v\n}}\n", "k".repeat(252))).is_ok());
        assert!(parse(&format!("{}: v\n", "k".repeat(253))).is_ok());
        assert!(parse(&format!("{}: v\n", "k".repeat(254))).is_err());
    }

    #[test]
    fn empty_key_and_odd_names_are_accepted() {
        let root = parse(":v\n:: {\n}\n").unwrap();
        assert_eq!(root.get(""), Some("v"));
        assert_eq!(root.sections().next().unwrap().name, ":");
    }

    #[test]
    fn blank_after_a_leading_colon_makes_the_key_a_colon() {
        let root = parse(": v\n  :\tw\n:\n").unwrap();
        let pairs: Vec<(&str, &str)> = root.values().collect();
        assert_eq!(pairs, vec![(":", "v"), (":", "w"), ("", "")]);
        // A lone `{` with text after it is a (non-empty) name `{`: the error is about the text.
        assert_eq!(
            parse("{ x\n").unwrap_err().reason,
            ParseErrorReason::ExtraAfterOpeningBracket
        );
        assert_eq!(
            parse("{x\n").unwrap_err().reason,
            ParseErrorReason::MissingSectionName
        );
    }
}
