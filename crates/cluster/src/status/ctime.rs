//! `ctime(3)` formatting (without the trailing newline) for the `Date:` line, from a Unix time
//! and the local UTC offset — pure, so callers decide the time zone.

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Year, month (1..=12), day of a day count since 1970-01-01 (proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// `Www Mmm dd hh:mm:ss yyyy` (day right-aligned in 2 columns), like `ctime(3)` in a zone
/// `utc_offset` seconds east of UTC.
pub fn ctime(unix: i64, utc_offset: i64) -> String {
    let t = unix + utc_offset;
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{} {} {:>2} {:02}:{:02}:{:02} {}",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(m - 1) as usize],
        d,
        secs / 3600,
        secs % 3600 / 60,
        secs % 60,
        y
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(ctime(0, 0), "Thu Jan  1 00:00:00 1970");
        // the pvecm manual's example, in UTC
        assert_eq!(ctime(1_631_617_607, 0), "Tue Sep 14 11:06:47 2021");
        assert_eq!(ctime(1_631_617_607, 7200), "Tue Sep 14 13:06:47 2021");
        assert_eq!(ctime(951_782_400, 0), "Tue Feb 29 00:00:00 2000");
        assert_eq!(ctime(-1, 0), "Wed Dec 31 23:59:59 1969");
        assert_eq!(ctime(1_795_309_632, 0), "Sun Nov 22 01:07:12 2026");
    }
}
