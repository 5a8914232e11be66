//! When a date trigger fires: every day at its time of day (UTC), for the contacts whose date
//! field holds that day shifted back by the trigger's offset (the day's anniversary, for a
//! trigger that fires every year). A firing missed while no node ran is made late, up to
//! [`LATE_MAX`]; older ones are skipped.

use chrono::{Datelike, Duration, NaiveDate, NaiveTime};

use crate::time::Timestamp;

/// A day, in microseconds.
pub const DAY: i64 = 86_400 * 1_000_000;
/// How late a missed firing is still made, in microseconds (a week).
pub const LATE_MAX: i64 = 7 * DAY;

/// The first firing at `time` of day at or after `now`: today's, unless it has passed.
pub fn first_firing(time: NaiveTime, now: Timestamp) -> Timestamp {
    let Some(today) = now.to_datetime().map(|at| at.date_naive()) else {
        return now;
    };
    let at = Timestamp::from_datetime(today.and_time(time).and_utc());
    if at.0 >= now.0 {
        at
    } else {
        Timestamp(at.0.saturating_add(DAY))
    }
}

/// The firing to make next of one due at `due`: itself, or, when it is more than
/// [`LATE_MAX`] late, the first one at the same time of day that is not.
pub fn not_too_late(due: Timestamp, now: Timestamp) -> Timestamp {
    let oldest = now.0.saturating_sub(LATE_MAX);
    if due.0 >= oldest {
        return due;
    }
    let days = (oldest - due.0).div_euclid(DAY) + i64::from((oldest - due.0) % DAY != 0);
    Timestamp(due.0.saturating_add(days.saturating_mul(DAY)))
}

/// The dates a firing at `at` enters the contacts of: its day shifted back by `offset_days`.
pub fn matched_day(at: Timestamp, offset_days: i64) -> Option<NaiveDate> {
    let day = at.to_datetime()?.date_naive();
    day.checked_sub_signed(Duration::days(offset_days))
}

/// The `MM-DD` anniversaries that fall on `day`: its own, and February 29th's on February
/// 28th of a year without one.
pub fn anniversaries(day: NaiveDate) -> Vec<String> {
    let mut found = vec![day.format("%m-%d").to_string()];
    let leap = NaiveDate::from_ymd_opt(day.year(), 2, 29).is_some();
    if day.month() == 2 && day.day() == 28 && !leap {
        found.push("02-29".to_owned());
    }
    found
}

/// The instants of `day`, from its midnight (UTC) to the next one (excluded).
pub fn day_span(day: NaiveDate) -> (Timestamp, Timestamp) {
    let start = Timestamp::from_datetime(day.and_time(NaiveTime::MIN).and_utc());
    (start, Timestamp(start.0.saturating_add(DAY)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse_api(text).unwrap()
    }

    fn nine() -> NaiveTime {
        NaiveTime::from_hms_opt(9, 0, 0).unwrap()
    }

    #[test]
    fn the_first_firing_is_today_unless_its_time_passed() {
        let first = first_firing(nine(), at("2026-12-03T08:59:00Z"));
        assert_eq!(first, at("2026-12-03T09:00:00Z"));
        let first = first_firing(nine(), at("2026-12-03T09:00:00Z"));
        assert_eq!(first, at("2026-12-03T09:00:00Z"));
        let first = first_firing(nine(), at("2026-12-03T09:00:01Z"));
        assert_eq!(first, at("2026-12-04T09:00:00Z"));
    }

    #[test]
    fn a_firing_more_than_a_week_late_moves_to_the_oldest_still_made() {
        let now = at("2026-12-20T10:00:00Z");
        let due = at("2026-12-15T09:00:00Z");
        assert_eq!(not_too_late(due, now), due);
        let due = at("2026-12-01T09:00:00Z");
        assert_eq!(not_too_late(due, now), at("2026-12-14T09:00:00Z"));
    }

    #[test]
    fn the_day_matched_is_shifted_back_by_the_offset() {
        let fired = at("2026-12-03T09:00:00Z");
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(matched_day(fired, 0), Some(day(2026, 12, 3)));
        assert_eq!(matched_day(fired, 7), Some(day(2026, 11, 26)));
        assert_eq!(matched_day(fired, -1), Some(day(2026, 12, 4)));
    }

    #[test]
    fn leap_day_anniversaries_fall_on_february_28th_of_other_years() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(anniversaries(day(2027, 2, 28)), ["02-28", "02-29"]);
        assert_eq!(anniversaries(day(2028, 2, 28)), ["02-28"]);
        assert_eq!(anniversaries(day(2028, 2, 29)), ["02-29"]);
        assert_eq!(anniversaries(day(2026, 12, 3)), ["12-03"]);
        let (start, end) = day_span(day(2026, 12, 3));
        assert_eq!(start, at("2026-12-03T00:00:00Z"));
        assert_eq!(end.0 - start.0, DAY);
    }
}
