//! The five time fields of a cron line (crontab(5)), parsed character by character the way Vixie cron 3.0
//! (Debian's cron) does in `entry.c`, quirks included.
//!
//! A field is a list of ranges separated by commas; a range is `*`, a number or a name, or `a-b`, optionally
//! followed by `/step`. Names are the three-letter month (`jan`…`dec`) and weekday (`sun`…`sat`) names in any
//! case. Day of week 7 is Sunday. After a list, cron skips any other non-blank characters (so `*x` reads as
//! `*` and `5/10` as `5`), and a range whose start is after its end is empty. `@reboot`, `@yearly`,
//! `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight` and `@hourly` replace the five fields.
//!
//! Days: when both day of month and day of week are restricted, either may match; when one of them starts
//! with `*` (even `*/2`), both must match.

use std::fmt;

const MONTH_NAMES: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DOW_NAMES: [&str; 8] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const DAYS_IN_MONTH: [u32; 12] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const WEEKDAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
/// Vixie cron's MAX_TEMPSTR: longer numbers or names are an error.
const MAX_TEMPSTR: usize = 100;

/// A parsed cron schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    text: String,
    spec: Spec,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spec {
    Reboot,
    Times(Times),
}

/// Bit sets, bit n set when value n is in the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Times {
    minutes: u64,
    hours: u32,
    days_of_month: u32,
    months: u16,
    /// Bits 0–6, Sunday = 0 (7 folded into 0).
    days_of_week: u8,
    dom_star: bool,
    dow_star: bool,
}

/// Which part of a cron line is malformed, with cron's own words for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Minute,
    Hour,
    DayOfMonth,
    Month,
    DayOfWeek,
    /// An `@word` cron does not know.
    TimeSpecifier,
}

impl Field {
    /// The message cron logs ("bad minute").
    pub fn cron_error(self) -> &'static str {
        match self {
            Field::Minute => "bad minute",
            Field::Hour => "bad hour",
            Field::DayOfMonth => "bad day-of-month",
            Field::Month => "bad month",
            Field::DayOfWeek => "bad day-of-week",
            Field::TimeSpecifier => "bad time specifier",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.cron_error())
    }
}

/// A byte cursor standing in for cron's `get_char()` on the crontab file.
pub(crate) struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Cursor { bytes, pos: 0 }
    }

    /// The next byte, or `None` at end of input (cron's EOF).
    pub(crate) fn get(&mut self) -> Option<u8> {
        let c = self.bytes.get(self.pos).copied();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn unget(&mut self, c: Option<u8>) {
        if c.is_some() {
            self.pos -= 1;
        }
    }

    pub(crate) fn position(&self) -> usize {
        self.pos
    }
}

fn is_blank(c: Option<u8>) -> bool {
    matches!(c, Some(b' ' | b'\t'))
}

fn skip_blanks(cur: &mut Cursor, mut ch: Option<u8>) -> Option<u8> {
    while is_blank(ch) {
        ch = cur.get();
    }
    ch
}

/// cron's get_string(): reads up to one of `terms` (or EOF); returns the text and the terminator read.
pub(crate) fn get_string(cur: &mut Cursor, terms: &[u8]) -> (Vec<u8>, Option<u8>) {
    let mut out = Vec::new();
    loop {
        let ch = cur.get();
        match ch {
            Some(c) if !terms.contains(&c) => out.push(c),
            _ => return (out, ch),
        }
    }
}

impl Schedule {
    /// Parses a schedule on its own, e.g. from the policy: the five fields or an `@word`, nothing else.
    pub fn parse(expr: &str) -> Result<Schedule, String> {
        let trimmed = expr.trim_matches([' ', '\t']);
        let mut line = trimmed.as_bytes().to_vec();
        line.push(b'\n');
        let mut cur = Cursor::new(&line);
        let first = cur.get();
        let schedule =
            Schedule::parse_from(&mut cur, first).map_err(|field| format!("{field} in cron schedule {trimmed:?}"))?;
        if cur.position() != line.len() - 1 {
            return Err(format!(
                "cron schedule {trimmed:?} has text after its time fields: give the five fields (or @daily …) only"
            ));
        }
        Ok(schedule)
    }

    /// Parses the time part of a crontab line; `first` is its first character (already read, blanks skipped).
    /// On success the cursor is at the first character of the user or command (blanks skipped).
    pub(crate) fn parse_from(cur: &mut Cursor, first: Option<u8>) -> Result<Schedule, Field> {
        let start = cur.position().saturating_sub(first.is_some() as usize);
        let spec = if first == Some(b'@') {
            let (word, mut ch) = get_string(cur, b" \t\n");
            let spec = match word.as_slice() {
                b"reboot" => Spec::Reboot,
                b"yearly" | b"annually" => Spec::Times(Times::every(1, 1 << 0, 1 << 1, 1 << 1, 0x7f, false, true)),
                b"monthly" => Spec::Times(Times::every(1, 1 << 0, 1 << 1, ALL_MONTHS, 0x7f, false, true)),
                b"weekly" => Spec::Times(Times::every(1, 1 << 0, ALL_DOM, ALL_MONTHS, 1, true, false)),
                b"daily" | b"midnight" => Spec::Times(Times::every(1, 1 << 0, ALL_DOM, ALL_MONTHS, 0x7f, false, false)),
                b"hourly" => Spec::Times(Times::every(1, ALL_HOURS, ALL_DOM, ALL_MONTHS, 0x7f, false, false)),
                _ => return Err(Field::TimeSpecifier),
            };
            ch = skip_blanks(cur, ch);
            if ch.is_none() {
                return Err(Field::TimeSpecifier);
            }
            cur.unget(ch);
            spec
        } else {
            let mut ch = first;
            let (minutes, next) = get_list(cur, 0, 59, None, ch).ok_or(Field::Minute)?;
            ch = next;
            let (hours, next) = get_list(cur, 0, 23, None, ch).ok_or(Field::Hour)?;
            ch = next;
            let dom_star = ch == Some(b'*');
            let (dom, next) = get_list(cur, 1, 31, None, ch).ok_or(Field::DayOfMonth)?;
            ch = next;
            let (months, next) = get_list(cur, 1, 12, Some(&MONTH_NAMES), ch).ok_or(Field::Month)?;
            ch = next;
            let dow_star = ch == Some(b'*');
            let (dow, next) = get_list(cur, 0, 7, Some(&DOW_NAMES), ch).ok_or(Field::DayOfWeek)?;
            ch = next;
            cur.unget(ch);
            // Sunday is 0 and 7.
            let dow = (dow | (dow >> 7)) as u8 & 0x7f;
            Spec::Times(Times {
                minutes,
                hours: hours as u32,
                days_of_month: dom as u32,
                months: months as u16,
                days_of_week: dow,
                dom_star,
                dow_star,
            })
        };
        let end = cur.position();
        let text = String::from_utf8_lossy(&cur.bytes[start..end]).trim_end().to_string();
        Ok(Schedule { text, spec })
    }

    /// `@reboot`: runs when cron starts, never on a calendar.
    pub fn is_reboot(&self) -> bool {
        self.spec == Spec::Reboot
    }

    /// True when the schedule fires at this time. `weekday` is 0 (Sunday) to 6; 7 is Sunday too.
    pub fn fires_at(&self, month: u32, day: u32, weekday: u32, hour: u32, minute: u32) -> bool {
        match self.spec {
            Spec::Reboot => false,
            Spec::Times(t) => {
                bit(t.minutes, minute)
                    && bit(t.hours as u64, hour)
                    && bit(t.months as u64, month)
                    && t.day_matches(day, weekday % 7)
            }
        }
    }

    /// True when the schedule fires at least once on every calendar day of every month, whatever weekday it
    /// falls on. `@reboot` never does; a weekly schedule does not.
    pub fn fires_daily(&self) -> bool {
        self.first_missed_day().is_none()
    }

    /// A calendar day on which the schedule never fires, described for a message (`None` when it fires daily).
    pub fn first_missed_day(&self) -> Option<String> {
        let t = match self.spec {
            Spec::Reboot => return Some("@reboot runs only when cron starts, not every day".into()),
            Spec::Times(t) => t,
        };
        if t.minutes == 0 || t.hours == 0 {
            return Some("it never fires (an empty minute or hour range)".into());
        }
        for (m, &days) in DAYS_IN_MONTH.iter().enumerate() {
            let month = m as u32 + 1;
            if !bit(t.months as u64, month) {
                return Some(format!("it never fires in {}", MONTHS[m]));
            }
            for day in 1..=days {
                for weekday in 0..7 {
                    if !t.day_matches(day, weekday) {
                        return Some(format!(
                            "it does not fire on a {} that is {} {day}",
                            WEEKDAYS[weekday as usize], MONTHS[m]
                        ));
                    }
                }
            }
        }
        None
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

const ALL_HOURS: u64 = (1 << 24) - 1;
const ALL_DOM: u64 = ((1 << 32) - 1) & !1;
const ALL_MONTHS: u64 = ((1 << 13) - 1) & !1;

impl Times {
    fn every(minutes: u64, hours: u64, dom: u64, months: u64, dow: u8, dom_star: bool, dow_star: bool) -> Times {
        Times {
            minutes,
            hours: hours as u32,
            days_of_month: dom as u32,
            months: months as u16,
            days_of_week: dow,
            dom_star,
            dow_star,
        }
    }

    /// Vixie's rule: with a `*` in either day field both must match, otherwise either may.
    fn day_matches(&self, day: u32, weekday: u32) -> bool {
        let dom = bit(self.days_of_month as u64, day);
        let dow = bit(self.days_of_week as u64, weekday);
        if self.dom_star || self.dow_star {
            dom && dow
        } else {
            dom || dow
        }
    }
}

fn bit(bits: u64, n: u32) -> bool {
    n < 64 && bits & (1 << n) != 0
}

/// get_list(): `range {"," range}`, then skip the rest of the word and the blanks after it.
fn get_list(
    cur: &mut Cursor,
    low: u32,
    high: u32,
    names: Option<&[&str]>,
    ch: Option<u8>,
) -> Option<(u64, Option<u8>)> {
    let mut bits = 0u64;
    let mut ch = ch;
    loop {
        ch = get_range(cur, &mut bits, low, high, names, ch)?;
        if ch == Some(b',') {
            ch = cur.get();
        } else {
            break;
        }
    }
    while ch.is_some_and(|c| !matches!(c, b' ' | b'\t' | b'\n')) {
        ch = cur.get();
    }
    Some((bits, skip_blanks(cur, ch)))
}

/// get_range(): `*`, a number, or `a-b`, each with an optional `/step`.
fn get_range(
    cur: &mut Cursor,
    bits: &mut u64,
    low: u32,
    high: u32,
    names: Option<&[&str]>,
    ch: Option<u8>,
) -> Option<Option<u8>> {
    let (first, last);
    let mut ch = ch;
    if ch == Some(b'*') {
        first = low;
        last = high;
        ch = cur.get();
        ch?;
    } else {
        let (n1, next) = get_number(cur, low, names, ch)?;
        if next != Some(b'-') {
            set_element(bits, low, high, n1)?;
            return Some(next);
        }
        ch = cur.get();
        ch?;
        let (n2, next) = get_number(cur, low, names, ch)?;
        first = n1;
        last = n2;
        ch = next;
    }
    let step = if ch == Some(b'/') {
        ch = cur.get();
        ch?;
        let (step, next) = get_number(cur, 0, None, ch)?;
        ch = next;
        if step == 0 {
            return None;
        }
        step
    } else {
        1
    };
    let mut i = first;
    while i <= last {
        set_element(bits, low, high, i)?;
        i = i.checked_add(step)?;
    }
    Some(ch)
}

/// get_number(): digits, or (where the field has names) a month or weekday name, ended by a blank, `-`, `/`,
/// `,` or newline.
fn get_number(cur: &mut Cursor, low: u32, names: Option<&[&str]>, ch: Option<u8>) -> Option<(u32, Option<u8>)> {
    const TERMS: &[u8] = b" \t-/,\n";
    let is_term = |c: Option<u8>| c.is_some_and(|c| TERMS.contains(&c));
    let mut ch = ch;
    let mut temp = Vec::new();
    while let Some(c) = ch.filter(u8::is_ascii_digit) {
        temp.push(c);
        if temp.len() >= MAX_TEMPSTR {
            return None;
        }
        ch = cur.get();
    }
    if !temp.is_empty() {
        if !is_term(ch) {
            return None;
        }
        let n: u32 = std::str::from_utf8(&temp).ok()?.parse().ok()?;
        return Some((n, ch));
    }
    let names = names?;
    while let Some(c) = ch.filter(u8::is_ascii_alphabetic) {
        temp.push(c);
        if temp.len() >= MAX_TEMPSTR {
            return None;
        }
        ch = cur.get();
    }
    if temp.is_empty() || !is_term(ch) {
        return None;
    }
    let word = std::str::from_utf8(&temp).ok()?;
    let index = names.iter().position(|n| n.eq_ignore_ascii_case(word))?;
    Some((index as u32 + low, ch))
}

fn set_element(bits: &mut u64, low: u32, high: u32, n: u32) -> Option<()> {
    if n < low || n > high {
        return None;
    }
    *bits |= 1 << n;
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn daily(expr: &str) -> bool {
        Schedule::parse(expr)
            .unwrap_or_else(|e| panic!("{expr}: {e}"))
            .fires_daily()
    }

    fn err(expr: &str) -> String {
        Schedule::parse(expr).unwrap_err()
    }

    #[test]
    fn the_policy_default_fires_daily_at_0230() {
        let s = Schedule::parse("30 2 * * *").unwrap();
        assert!(s.fires_daily());
        assert!(s.fires_at(1, 1, 0, 2, 30));
        assert!(!s.fires_at(1, 1, 0, 2, 31));
        assert_eq!(s.to_string(), "30 2 * * *");
    }

    #[test]
    fn at_words() {
        assert!(daily("@daily"));
        assert!(daily("@midnight"));
        assert!(daily("@hourly"));
        assert!(!daily("@weekly"));
        assert!(!daily("@monthly"));
        assert!(!daily("@yearly"));
        assert!(!daily("@annually"));
        let reboot = Schedule::parse("@reboot").unwrap();
        assert!(reboot.is_reboot());
        assert!(!reboot.fires_daily());
        assert!(reboot.first_missed_day().unwrap().contains("@reboot"));
        assert!(Schedule::parse("@weekly").unwrap().fires_at(3, 5, 0, 0, 0));
        assert!(!Schedule::parse("@weekly").unwrap().fires_at(3, 5, 1, 0, 0));
        assert!(
            err("@Daily").contains("bad time specifier"),
            "the @words are case-sensitive"
        );
        assert!(err("@fortnightly").contains("bad time specifier"));
    }

    #[test]
    fn weekly_and_weekday_schedules_are_not_daily() {
        assert!(!daily("30 2 * * 0"));
        assert!(!daily("30 2 * * 1-5"));
        assert!(!daily("30 2 * * mon-fri"));
        let s = Schedule::parse("30 2 * * 0").unwrap();
        assert_eq!(
            s.first_missed_day().unwrap(),
            "it does not fire on a Monday that is January 1"
        );
        assert!(daily("30 2 * * 0-6"));
        assert!(daily("30 2 * * 0-7"));
        assert!(daily("30 2 * * sun-sat"));
        assert!(daily("30 2 * * 1-7"), "7 is Sunday");
        assert!(daily("30 2 * * */1"));
    }

    #[test]
    fn vixie_day_matching() {
        // Neither field starts with *: either matches. Day 1-31 covers every day.
        assert!(daily("30 2 1-31 * 1"));
        // dom starts with * (even */1): both must match, so only Mondays.
        assert!(!daily("30 2 */1 * 1"));
        // dow starts with *: both must match, so the day of month decides.
        assert!(!daily("30 2 1-15 * *"));
        assert!(!daily("30 2 1-30 * *"), "not on the 31st");
        assert!(daily("30 2 1-31 * *"));
        // OR: the 1st and every Monday.
        let s = Schedule::parse("0 0 1 * mon").unwrap();
        assert!(s.fires_at(5, 1, 3, 0, 0));
        assert!(s.fires_at(5, 9, 1, 0, 0));
        assert!(!s.fires_at(5, 9, 2, 0, 0));
        // AND: the 1st only when it is a Sunday, Tuesday, Thursday or Saturday.
        let s = Schedule::parse("0 0 1 * */2").unwrap();
        assert!(!s.fires_at(5, 1, 3, 0, 0));
        assert!(s.fires_at(5, 1, 2, 0, 0));
        assert!(!s.fires_at(5, 3, 2, 0, 0));
    }

    #[test]
    fn lists_ranges_steps_and_names() {
        let s = Schedule::parse("*/15 1-23/5,22 * jan,JUL-aug *").unwrap();
        for m in [0, 15, 30, 45] {
            assert!(s.fires_at(1, 1, 0, 1, m));
        }
        assert!(!s.fires_at(1, 1, 0, 1, 14));
        for h in [1, 6, 11, 16, 21, 22] {
            assert!(s.fires_at(1, 1, 0, h, 0), "hour {h}");
        }
        assert!(!s.fires_at(1, 1, 0, 2, 0));
        assert!(s.fires_at(7, 1, 0, 1, 0));
        assert!(s.fires_at(8, 1, 0, 1, 0));
        assert!(!s.fires_at(9, 1, 0, 1, 0));
        assert!(!s.fires_daily());
        assert!(s.first_missed_day().unwrap().contains("February"));
    }

    #[test]
    fn out_of_range_and_malformed_fields() {
        assert_eq!(err("60 * * * *"), "bad minute in cron schedule \"60 * * * *\"");
        assert!(err("* 24 * * *").contains("bad hour"));
        assert!(err("* * 0 * *").contains("bad day-of-month"));
        assert!(err("* * 32 * *").contains("bad day-of-month"));
        assert!(err("* * * 13 * ").contains("bad month"));
        assert!(err("* * * foo *").contains("bad month"));
        assert!(err("* * * * 8").contains("bad day-of-week"));
        assert!(
            err("* 1-30/5 * * *").contains("bad hour"),
            "a step past the end is out of range"
        );
        assert!(err("* * * * mon-foo").contains("bad day-of-week"));
        assert!(
            err("* * * * jan").contains("bad day-of-week"),
            "month names are not weekdays"
        );
        assert!(err("*/0 * * * *").contains("bad minute"));
        assert!(err("1- * * * *").contains("bad minute"));
        assert!(err("a * * * *").contains("bad minute"), "no names for minutes");
        assert!(err("1,,2 * * * *").contains("bad minute"));
        assert!(err("30 2 * *").contains("bad day-of-week"));
        assert!(err("").contains("bad minute"));
        assert!(err("99999999999999999999 * * * *").contains("bad minute"));
        assert!(err("30 2 * * * root").contains("text after its time fields"));
    }

    #[test]
    fn vixie_quirks_are_reproduced() {
        // After a list, other non-blank characters are skipped.
        assert!(daily("30 2 *x * *"));
        let s = Schedule::parse("5/10 2 * * *").unwrap();
        assert!(s.fires_at(1, 1, 0, 2, 5));
        assert!(!s.fires_at(1, 1, 0, 2, 15));
        // A reversed range is empty, not an error.
        let s = Schedule::parse("30 2 * * 5-3").unwrap();
        assert!(!s.fires_daily());
        assert!(Schedule::parse("30 5-3 * * *")
            .unwrap()
            .first_missed_day()
            .unwrap()
            .contains("never fires"));
    }

    #[test]
    fn garbage_never_panics() {
        let junk: Vec<u8> = (0..4000u32).map(|i| (i.wrapping_mul(2654435761) >> 11) as u8).collect();
        for w in junk.chunks(13) {
            let _ = Schedule::parse(&String::from_utf8_lossy(w));
        }
        let _ = Schedule::parse(&"1,".repeat(1_000_000));
        let _ = Schedule::parse("*/4294967295 * * * *");
        let _ = Schedule::parse("0-4294967295/4294967295 * * * *");
        let _ = Schedule::parse("\u{0}\u{ff}@");
    }
}
