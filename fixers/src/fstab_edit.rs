//! Editing /etc/fstab so that only the lines a fixer owns change (SPEC §4 rule 3).
//!
//! The text is kept as raw bytes, split at `\n` exactly as `citadel_checks::fstab::Fstab::parse` numbers its
//! lines, so a line number from the parsed entries addresses the same line here. Edits never insert or remove a
//! line in the middle (a new line is appended; a line given up is commented out in place), so line numbers
//! taken before an edit stay valid after it. Within a line, a field is replaced in place: the separators
//! around it, the other fields and anything after the sixth field (a trailing `# comment`) keep their bytes.

use std::ops::Range;

use citadel_checks::fstab::{escape_field, Fstab};
use citadel_checks::mountinfo::{unescape, MountOption};

/// The fields of an fstab line, by index.
pub const SOURCE: usize = 0;
pub const TYPE: usize = 2;
pub const OPTIONS: usize = 3;

/// An fstab file being edited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FstabText {
    /// The lines without their `\n`; a file ending in `\n` has an empty last element, as `split` gives.
    lines: Vec<Vec<u8>>,
}

impl FstabText {
    pub fn new(bytes: &[u8]) -> FstabText {
        FstabText {
            lines: bytes.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect(),
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.lines.join(&b'\n')
    }

    /// The file as the checks parse it (invalid UTF-8 replaced: it cannot add or remove a line).
    pub fn parse(&self) -> Fstab {
        Fstab::parse(&String::from_utf8_lossy(&self.to_bytes()))
    }

    /// The raw bytes of 1-based line `number`.
    pub fn line(&self, number: usize) -> Option<&[u8]> {
        self.lines.get(number.checked_sub(1)?).map(Vec::as_slice)
    }

    /// A field of line `number`, as written (escapes not decoded).
    pub fn field(&self, number: usize, index: usize) -> Option<String> {
        let line = self.line(number)?;
        let range = field_ranges(line).get(index)?.clone();
        Some(String::from_utf8_lossy(&line[range]).into_owned())
    }

    /// Replaces field `index` of line `number` with `value` (already escaped). Returns false when the line has
    /// no such field.
    pub fn set_field(&mut self, number: usize, index: usize, value: &str) -> bool {
        let Some(line) = number.checked_sub(1).and_then(|i| self.lines.get_mut(i)) else {
            return false;
        };
        let Some(range) = field_ranges(line).get(index).cloned() else {
            return false;
        };
        line.splice(range, value.bytes());
        true
    }

    /// Sets the options field of line `number`, adding it after the type field when the line has only three.
    pub fn set_options(&mut self, number: usize, value: &str) -> bool {
        if self.set_field(number, OPTIONS, value) {
            return true;
        }
        let Some(line) = number.checked_sub(1).and_then(|i| self.lines.get_mut(i)) else {
            return false;
        };
        let Some(end) = field_ranges(line).get(TYPE).map(|r| r.end) else {
            return false;
        };
        line.splice(end..end, format!(" {value}").bytes());
        true
    }

    /// Turns line `number` into a comment that says why and keeps the old text after it.
    pub fn comment_out(&mut self, number: usize, why: &str) {
        if let Some(line) = number.checked_sub(1).and_then(|i| self.lines.get_mut(i)) {
            let mut commented = format!("# citadel-check: {why}: ").into_bytes();
            commented.append(line);
            *line = commented;
        }
    }

    /// Appends `line` (without its newline) at the end; a last line without its final newline gets one first.
    pub fn append(&mut self, line: &str) {
        match self.lines.last_mut() {
            Some(last) if last.is_empty() => *last = line.as_bytes().to_vec(),
            _ => self.lines.push(line.as_bytes().to_vec()),
        }
        self.lines.push(Vec::new());
    }
}

/// Where each field of a line is, as libmount splits it: the part before a NUL, without a trailing `\r`,
/// at runs of spaces and tabs.
fn field_ranges(line: &[u8]) -> Vec<Range<usize>> {
    let mut end = line.iter().position(|&b| b == 0).unwrap_or(line.len());
    if end > 0 && line[end - 1] == b'\r' {
        end -= 1;
    }
    let mut ranges = Vec::new();
    let mut start = None;
    for (i, &b) in line[..end].iter().enumerate() {
        let blank = b == b' ' || b == b'\t';
        match (blank, start) {
            (false, None) => start = Some(i),
            (true, Some(s)) => {
                ranges.push(s..i);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        ranges.push(s..end);
    }
    ranges
}

/// An options field as written, split at commas outside double quotes (as libmount splits it), each item kept
/// in its raw spelling so that the items a fix does not touch stay as they were.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawOptions {
    items: Vec<String>,
}

impl RawOptions {
    pub fn parse(field: &str) -> RawOptions {
        let mut items = Vec::new();
        let mut current = String::new();
        let mut quoted = false;
        for c in field.chars() {
            match c {
                '"' => {
                    quoted = !quoted;
                    current.push(c);
                }
                ',' if !quoted => items.push(std::mem::take(&mut current)),
                _ => current.push(c),
            }
        }
        items.push(current);
        items.retain(|i| !i.is_empty());
        RawOptions { items }
    }

    /// The options as the checks read them (decoded).
    pub fn options(&self) -> Vec<MountOption> {
        self.items.iter().map(|i| MountOption::parse(&unescape(i))).collect()
    }

    /// Removes every item that reads as `option` (`noauto`, `barrier=1`). Returns whether any was removed.
    pub fn remove(&mut self, option: &str) -> bool {
        let before = self.items.len();
        self.items
            .retain(|i| MountOption::parse(&unescape(i)).to_string() != option);
        self.items.len() != before
    }

    /// Appends an option, escaped as an fstab field needs.
    pub fn push(&mut self, option: &str) {
        self.items.push(escape_field(option));
    }

    /// The field to write: `defaults` when nothing is left (an empty field would shift dump and pass).
    pub fn render(&self) -> String {
        if self.items.is_empty() {
            "defaults".to_string()
        } else {
            self.items.join(",")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const ODD: &[u8] =
        b"# comment\n\tUUID=a  /mnt/x\text4   noatime,data=ordered  0\t2   # trailing\r\n/dev/sdb /y ext4\n";

    #[test]
    fn fields_are_replaced_in_place_and_everything_else_stays() {
        let mut text = FstabText::new(ODD);
        assert_eq!(text.field(2, SOURCE).as_deref(), Some("UUID=a"));
        assert_eq!(text.field(2, OPTIONS).as_deref(), Some("noatime,data=ordered"));
        assert!(text.set_field(2, SOURCE, "UUID=bbb"));
        assert!(text.set_field(2, OPTIONS, "defaults,noatime"));
        assert_eq!(
            text.to_bytes(),
            b"# comment\n\tUUID=bbb  /mnt/x\text4   defaults,noatime  0\t2   # trailing\r\n/dev/sdb /y ext4\n"
        );
        assert!(!text.set_field(3, OPTIONS, "x"), "line 3 has three fields");
        assert!(text.set_options(3, "noatime"));
        assert_eq!(text.line(3), Some(&b"/dev/sdb /y ext4 noatime"[..]));
        assert!(!text.set_field(9, SOURCE, "x"));
    }

    #[test]
    fn appending_keeps_line_numbers_and_adds_a_missing_final_newline() {
        let mut text = FstabText::new(b"a /a ext4");
        text.append("b /b ext4");
        assert_eq!(text.to_bytes(), b"a /a ext4\nb /b ext4\n");
        let mut text = FstabText::new(b"");
        text.append("b /b ext4");
        assert_eq!(text.to_bytes(), b"b /b ext4\n");
        let mut text = FstabText::new(ODD);
        text.append("c /c ext4 defaults 0 2");
        let fstab = text.parse();
        assert_eq!(fstab.entries_at(Path::new("/c"))[0].line, 4);
    }

    #[test]
    fn comments_keep_the_old_bytes() {
        let mut text = FstabText::new(b"bug\n\xff /z ext4 x\n");
        text.comment_out(1, "a parse error");
        assert_eq!(
            text.to_bytes(),
            b"# citadel-check: a parse error: bug\n\xff /z ext4 x\n"
        );
        assert!(text.parse().problems.is_empty());
    }

    #[test]
    fn options_keep_their_raw_spelling() {
        let mut options = RawOptions::parse("defaults,context=\"a,b\",noauto,x-name=a\\040b,noauto");
        assert_eq!(options.options()[1].to_string(), "context=\"a,b\"");
        assert!(options.remove("noauto"));
        assert!(options.remove("x-name=a b"));
        options.push("data=writeback");
        assert_eq!(options.render(), "defaults,context=\"a,b\",data=writeback");
        let mut only = RawOptions::parse("noauto");
        only.remove("noauto");
        assert_eq!(only.render(), "defaults");
    }
}
