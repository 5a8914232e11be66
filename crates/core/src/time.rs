//! The one time type of Tracklane: microseconds since the Unix epoch, in UTC.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

use crate::invalid::Invalid;

/// A point in time, stored as microseconds since the Unix epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The current time of the system clock.
    pub fn now() -> Self {
        Self::from_datetime(Utc::now())
    }

    /// Converts a chrono time.
    pub fn from_datetime(at: DateTime<Utc>) -> Self {
        Self(at.timestamp_micros())
    }

    /// The chrono time, or `None` when out of chrono's range.
    pub fn to_datetime(self) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp_micros(self.0)
    }

    /// ISO-8601 with a numeric offset, as ActiveCampaign renders `cdate`:
    /// `2018-09-28T13:50:41+00:00`.
    pub fn to_api(self) -> String {
        match self.to_datetime() {
            Some(at) => at
                .to_rfc3339_opts(SecondsFormat::Secs, false)
                .replace('Z', "+00:00"),
            None => "0000-00-00T00:00:00+00:00".to_owned(),
        }
    }

    /// `YYYY-MM-DD HH:MM:SS`, the form of AC's `*_timestamp` columns.
    pub fn to_api_plain(self) -> String {
        match self.to_datetime() {
            Some(at) => at.format("%Y-%m-%d %H:%M:%S").to_string(),
            None => "0000-00-00 00:00:00".to_owned(),
        }
    }
}

impl Timestamp {
    /// Parses a date or time a caller gives in a filter: RFC 3339 (`2024-05-01T10:00:00-05:00`),
    /// `YYYY-MM-DD HH:MM:SS` (taken as UTC) or `YYYY-MM-DD` (midnight UTC).
    pub fn parse_api(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        if let Ok(at) = DateTime::parse_from_rfc3339(raw) {
            return Some(Self::from_datetime(at.with_timezone(&Utc)));
        }
        if let Ok(at) = chrono::NaiveDateTime::parse_from_str(raw, "%Y-%m-%d %H:%M:%S") {
            return Some(Self::from_datetime(at.and_utc()));
        }
        let day = NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok()?;
        Some(Self::from_datetime(day.and_hms_opt(0, 0, 0)?.and_utc()))
    }

    /// [`Timestamp::parse_api`] of the value of `attribute`, refusing what is not a date.
    pub fn parse_attribute(attribute: &'static str, raw: &str) -> Result<Self, Invalid> {
        Self::parse_api(raw).ok_or_else(|| {
            Invalid::bad_value(
                attribute,
                format!("'{raw}' is not a date (YYYY-MM-DD, YYYY-MM-DD HH:MM:SS or ISO 8601)"),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_filter_times() {
        let at = Timestamp(1_538_142_641_000_000);
        assert_eq!(Timestamp::parse_api("2018-09-28T08:50:41-05:00"), Some(at));
        assert_eq!(Timestamp::parse_api("2018-09-28 13:50:41"), Some(at));
        assert_eq!(
            Timestamp::parse_api("2018-09-28"),
            Some(Timestamp(1_538_092_800_000_000))
        );
        assert_eq!(Timestamp::parse_api("yesterday"), None);
    }

    #[test]
    fn renders_with_numeric_offset() {
        let at = Timestamp(1_538_142_641_000_000);
        assert_eq!(at.to_api(), "2018-09-28T13:50:41+00:00");
        assert_eq!(at.to_api_plain(), "2018-09-28 13:50:41");
    }
}
