//! Shell-glob matching as udev does it: glibc `fnmatch(pattern, text, 0)`.
//!
//! Flags 0 means `*` and `?` also match `/` and a leading `.`, and a backslash escapes the next character.
//! Brackets take ranges (`[0-9]`), negation (`[!a]` or `[^a]`), a literal `]` first, and POSIX classes
//! (`[[:digit:]]`). An unterminated `[` matches itself, as in glibc.

/// True when `pattern` matches all of `text`.
pub fn fnmatch(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    // Where to resume after the last `*`: (pattern index after the star, text index the star consumed up to).
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if let Some(next) = step(pattern, p, text[t]) {
            match next {
                Step::Star => {
                    star = Some((p + 1, t));
                    p += 1;
                }
                Step::Matched(np) => {
                    p = np;
                    t += 1;
                }
                Step::Failed => match star {
                    Some((sp, st)) => {
                        p = sp;
                        t = st + 1;
                        star = Some((sp, st + 1));
                    }
                    None => return false,
                },
            }
        } else {
            // Pattern exhausted with text left.
            match star {
                Some((sp, st)) => {
                    p = sp;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            }
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// True when the value has a glob character, so udev matches it with fnmatch instead of comparing strings.
pub fn is_glob(value: &str) -> bool {
    value.contains(['*', '?', '['])
}

enum Step {
    Star,
    /// The pattern element at `p` matched one character; the next element starts here.
    Matched(usize),
    Failed,
}

/// Matches the pattern element at `p` against one character. `None` when the pattern is exhausted.
fn step(pattern: &[u8], p: usize, c: u8) -> Option<Step> {
    let pc = *pattern.get(p)?;
    Some(match pc {
        b'*' => Step::Star,
        b'?' => Step::Matched(p + 1),
        b'[' => match bracket(pattern, p, c) {
            Some((true, np)) => Step::Matched(np),
            Some((false, _)) => Step::Failed,
            // Unterminated: a literal `[`.
            None if c == b'[' => Step::Matched(p + 1),
            None => Step::Failed,
        },
        b'\\' if p + 1 < pattern.len() => {
            if pattern[p + 1] == c {
                Step::Matched(p + 2)
            } else {
                Step::Failed
            }
        }
        other if other == c => Step::Matched(p + 1),
        _ => Step::Failed,
    })
}

/// Matches `c` against the bracket expression starting at `pattern[open] == b'['`.
/// Returns whether it matched and the index after the closing `]`, or `None` if the bracket never closes.
fn bracket(pattern: &[u8], open: usize, c: u8) -> Option<(bool, usize)> {
    let mut i = open + 1;
    let negate = matches!(pattern.get(i), Some(b'!') | Some(b'^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let pc = *pattern.get(i)?;
        if pc == b']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if pc == b'[' && pattern.get(i + 1) == Some(&b':') {
            if let Some(end) = find_class_end(pattern, i + 2) {
                let name = &pattern[i + 2..end];
                matched |= class_matches(name, c);
                i = end + 2;
                continue;
            }
        }
        let (lo, after_lo) = literal_at(pattern, i)?;
        if pattern.get(after_lo) == Some(&b'-') && pattern.get(after_lo + 1).is_some_and(|&n| n != b']') {
            let (hi, after_hi) = literal_at(pattern, after_lo + 1)?;
            matched |= lo <= c && c <= hi;
            i = after_hi;
        } else {
            matched |= lo == c;
            i = after_lo;
        }
    }
}

/// The literal character at `i` inside a bracket (a backslash escapes) and the index after it.
fn literal_at(pattern: &[u8], i: usize) -> Option<(u8, usize)> {
    match pattern.get(i)? {
        b'\\' => Some((*pattern.get(i + 1)?, i + 2)),
        &c => Some((c, i + 1)),
    }
}

/// Index of the `:` of the `:]` that closes a `[:class:]` whose name starts at `start`.
fn find_class_end(pattern: &[u8], start: usize) -> Option<usize> {
    let mut i = start;
    while i + 1 < pattern.len() {
        if pattern[i] == b':' && pattern[i + 1] == b']' {
            return Some(i);
        }
        if !pattern[i].is_ascii_lowercase() {
            return None;
        }
        i += 1;
    }
    None
}

fn class_matches(name: &[u8], c: u8) -> bool {
    match name {
        b"alnum" => c.is_ascii_alphanumeric(),
        b"alpha" => c.is_ascii_alphabetic(),
        b"blank" => c == b' ' || c == b'\t',
        b"cntrl" => c.is_ascii_control(),
        b"digit" => c.is_ascii_digit(),
        b"graph" => c.is_ascii_graphic(),
        b"lower" => c.is_ascii_lowercase(),
        b"print" => c.is_ascii_graphic() || c == b' ',
        b"punct" => c.is_ascii_punctuation(),
        b"space" => c.is_ascii_whitespace() || c == 0x0b,
        b"upper" => c.is_ascii_uppercase(),
        b"xdigit" => c.is_ascii_hexdigit(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, t: &str) -> bool {
        fnmatch(p.as_bytes(), t.as_bytes())
    }

    #[test]
    fn literal_and_wildcards() {
        assert!(m("sda", "sda"));
        assert!(!m("sda", "sdb"));
        assert!(!m("sda", "sda1"));
        assert!(m("sd*", "sda1"));
        assert!(m("sd*", "sd"));
        assert!(m("sd?", "sdb"));
        assert!(!m("sd?", "sd"));
        assert!(m("*", ""));
        assert!(m("", ""));
        assert!(!m("", "a"));
        assert!(m("a*b*c", "aXXbYYc"));
        assert!(!m("a*b*c", "aXXbYY"));
        assert!(m("**a", "bba"));
    }

    #[test]
    fn star_crosses_slashes_and_dots_with_flags_zero() {
        assert!(m("block/*/uevent", "block/sda/x/uevent"));
        assert!(m("*", ".hidden"));
    }

    #[test]
    fn the_scheduler_rule_patterns() {
        assert!(m("nvme[0-9]*n[0-9]*", "nvme1n1"));
        assert!(
            m("nvme[0-9]*n[0-9]*", "nvme1n1p1"),
            "partitions match too without DEVTYPE"
        );
        assert!(!m("nvme[0-9]*n[0-9]*", "nvme1"));
        assert!(m("sd[a-z]*", "sda"));
        assert!(m("sd[a-z]*", "sdab1"));
        assert!(!m("sd[a-z]", "sda1"));
        assert!(!m("sd[a-z]*", "sd1"));
    }

    #[test]
    fn brackets() {
        assert!(m("[!a]", "b"));
        assert!(!m("[!a]", "a"));
        assert!(m("[^a]", "b"));
        assert!(m("[]]", "]"));
        assert!(m("[!]]", "a"));
        assert!(m("[a-]", "-"));
        assert!(m("[[:digit:]]x", "7x"));
        assert!(!m("[[:digit:]]x", "ax"));
        assert!(m("[[:alpha:][:digit:]]", "Q"));
        assert!(m("[\\]]", "]"));
        // Unterminated bracket is a literal `[`.
        assert!(m("[abc", "[abc"));
        assert!(!m("[abc", "a"));
    }

    #[test]
    fn backslash_escapes() {
        assert!(m("a\\*", "a*"));
        assert!(!m("a\\*", "ab"));
        assert!(m("a\\", "a\\"), "a trailing backslash is literal");
    }

    #[test]
    fn is_glob_detects_the_three_characters() {
        assert!(is_glob("sd*"));
        assert!(is_glob("sd?"));
        assert!(is_glob("sd[ab]"));
        assert!(!is_glob("sda"));
        assert!(!is_glob("a|b"));
    }

    #[test]
    fn garbage_does_not_panic() {
        let junk: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
        for i in 0..junk.len().min(300) {
            let _ = fnmatch(&junk[i..i + 40.min(junk.len() - i)], &junk);
            let _ = fnmatch(&junk, &junk[..i]);
        }
        let _ = fnmatch(b"[[:", b"x");
        let _ = fnmatch(b"[a-", b"a");
        let _ = fnmatch(b"[\\", b"a");
        let long = "*a".repeat(200);
        assert!(!fnmatch(long.as_bytes(), "b".repeat(300).as_bytes()));
    }
}
