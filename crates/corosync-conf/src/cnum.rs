//! Numbers the way corosync reads them: C `strtoll` / `strtoull` in base 10 over the whole
//! value (leading C whitespace and one sign allowed, nothing after the digits).

/// C `isspace` in the "C" locale.
fn is_c_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\u{b}' | '\u{c}' | '\r')
}

/// Splits into (negative, digits); `None` unless the rest is one or more ASCII digits.
fn split(s: &str) -> Option<(bool, &str)> {
    let s = s.trim_start_matches(is_c_space);
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((negative, digits))
}

/// Magnitude of a digit string, `None` when it exceeds `limit`.
fn magnitude(digits: &str, limit: u128) -> Option<u128> {
    let mut value: u128 = 0;
    for b in digits.bytes() {
        value = value * 10 + u128::from(b - b'0');
        if value > limit {
            return None;
        }
    }
    Some(value)
}

/// `strtoll` semantics: `None` for non-numbers and for values outside `i64`.
pub(crate) fn parse_i64(s: &str) -> Option<i64> {
    let (negative, digits) = split(s)?;
    if negative {
        let m = magnitude(digits, 1u128 << 63)?;
        i64::try_from(-(m as i128)).ok()
    } else {
        let m = magnitude(digits, i64::MAX as u128)?;
        i64::try_from(m).ok()
    }
}

/// `strtoull` semantics: a leading `-` negates modulo 2^64 (so `-1` is `u64::MAX`).
pub(crate) fn parse_u64(s: &str) -> Option<u64> {
    let (negative, digits) = split(s)?;
    let m = u64::try_from(magnitude(digits, u64::MAX as u128)?).ok()?;
    Some(if negative { m.wrapping_neg() } else { m })
}

/// What corosync's `safe_atoq` accepts for a key of the given range.
pub(crate) fn parse_in_range(s: &str, min: i64, max: i64) -> Option<i64> {
    parse_i64(s).filter(|v| (min..=max).contains(v))
}

/// Parses into a concrete unsigned type with corosync's rules.
pub(crate) fn parse_typed<T: TryFrom<i64>>(s: &str) -> Option<T> {
    parse_i64(s).and_then(|v| T::try_from(v).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtoll_rules() {
        assert_eq!(parse_i64("42"), Some(42));
        assert_eq!(parse_i64("+7"), Some(7));
        assert_eq!(parse_i64("-0"), Some(0));
        assert_eq!(parse_i64("\u{b}5"), Some(5));
        assert_eq!(parse_i64("007"), Some(7));
        assert_eq!(parse_i64(""), None);
        assert_eq!(parse_i64("-"), None);
        assert_eq!(parse_i64("1 "), None);
        assert_eq!(parse_i64("yes"), None);
        assert_eq!(parse_i64("0x10"), None);
        assert_eq!(parse_i64("9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64("9223372036854775808"), None);
        assert_eq!(parse_i64("-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64("-9223372036854775809"), None);
        assert_eq!(parse_i64(&"9".repeat(100)), None);
    }

    #[test]
    fn strtoull_rules() {
        assert_eq!(parse_u64("18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64("18446744073709551616"), None);
        assert_eq!(parse_u64("-1"), Some(u64::MAX));
        assert_eq!(parse_u64("-0"), Some(0));
        assert_eq!(parse_u64("x"), None);
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_in_range("255", 0, 255), Some(255));
        assert_eq!(parse_in_range("256", 0, 255), None);
        assert_eq!(parse_in_range("-1", 0, 255), None);
        assert_eq!(parse_typed::<u8>("+3"), Some(3u8));
        assert_eq!(parse_typed::<u32>("4294967296"), None);
    }
}
