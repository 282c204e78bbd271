//! Time as the audit log and the backup names write it: always UTC.

use std::time::SystemTime;

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::OffsetDateTime;

/// `2026-05-01T02:30:00.123456789Z`, for the audit log.
pub fn rfc3339(at: SystemTime) -> String {
    OffsetDateTime::from(at)
        .format(&Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_string())
}

/// `20260501T023000Z`: a compact stamp that sorts by time, for backup file names.
pub fn stamp(at: SystemTime) -> String {
    let format = format_description!("[year][month][day]T[hour][minute][second]Z");
    OffsetDateTime::from(at)
        .format(&format)
        .unwrap_or_else(|_| "19700101T000000Z".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_utc() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_777_602_600);
        assert_eq!(stamp(at), "20260501T023000Z");
        assert_eq!(rfc3339(at), "2026-05-01T02:30:00Z");
    }
}
