//! One udev rules file, parsed the way systemd-udevd (v252) parses it (udev(7), `udev-rules.c`).
//!
//! Physical lines end at `\n`, `\r`, `\r\n` or NUL; leading blanks are dropped; a line whose first character is
//! `#` is a comment even inside a continuation; a trailing backslash joins the next line. A logical line is a
//! list of `KEY{attr}OP"value"` tokens separated by commas and/or blanks. A token udev rejects drops the whole
//! line; a line that only matches has no effect and is dropped too. Every such line is recorded as a problem,
//! and so are the traps udev accepts silently (lints): `ATTR{…}==` where `=` was meant, a missing comma.

use std::path::{Path, PathBuf};

/// udev's limit for one physical line and for a joined logical line (UDEV_LINE_SIZE).
pub const LINE_SIZE: usize = 16384;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Match,
    NoMatch,
    Add,
    Remove,
    Assign,
    AssignFinal,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Match => "==",
            Op::NoMatch => "!=",
            Op::Add => "+=",
            Op::Remove => "-=",
            Op::Assign => "=",
            Op::AssignFinal => ":=",
        }
    }

    pub fn is_match(self) -> bool {
        matches!(self, Op::Match | Op::NoMatch)
    }
}

/// The keys udev knows, in the order udev sorts a line's tokens (matches first, then assignments).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Key {
    // Matches on the event device.
    Action,
    Devpath,
    Kernel,
    SymlinkMatch,
    NameMatch,
    EnvMatch,
    Const,
    TagMatch,
    Subsystem,
    Driver,
    AttrMatch,
    SysctlMatch,
    // Matches on the device or one of its parents.
    Kernels,
    Subsystems,
    Drivers,
    Attrs,
    Tags,
    // Matches with side effects.
    Test,
    Program,
    Import,
    Result,
    // Assignments.
    Options,
    Owner,
    Group,
    Mode,
    TagAssign,
    Seclabel,
    EnvAssign,
    NameAssign,
    SymlinkAssign,
    AttrAssign,
    SysctlAssign,
    Run,
}

impl Key {
    pub fn is_match(self) -> bool {
        self <= Key::Result
    }
}

/// One `KEY{attr}OP"value"` of a rule, after udev's own normalization (`ATTR{x}:="v"` becomes `=`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub key: Key,
    /// The key as written (`ATTR`, `ENV`, …), for messages.
    pub key_name: String,
    pub attr: Option<String>,
    pub op: Op,
    pub value: String,
    /// `i"…"`: match case-insensitively.
    pub case_insensitive: bool,
}

impl Token {
    /// The token as written in a rule, e.g. `ATTR{queue/scheduler}=="none"`.
    pub fn display(&self) -> String {
        match &self.attr {
            Some(attr) => format!("{}{{{}}}{}\"{}\"", self.key_name, attr, self.op.as_str(), self.value),
            None => format!("{}{}\"{}\"", self.key_name, self.op.as_str(), self.value),
        }
    }
}

/// One logical line that udev keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The physical line the rule starts on (1-based).
    pub line: usize,
    /// Match tokens, in udev's evaluation order.
    pub matches: Vec<Token>,
    /// Assignment tokens, in udev's application order.
    pub assignments: Vec<Token>,
    pub label: Option<String>,
    pub goto: Option<String>,
    /// Index (in the file's rules) of the LABEL line the GOTO jumps to.
    pub goto_target: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// udev ignores the line (or the rest of the file).
    Ignored,
    /// udev accepts it, but it is almost certainly not what was meant, or not portable.
    Lint,
}

/// A malformed or suspicious line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleProblem {
    pub file: PathBuf,
    /// 1-based; `None` for a problem with the whole file.
    pub line: Option<usize>,
    pub severity: Severity,
    pub reason: String,
}

impl std::fmt::Display for RuleProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// The rules udev keeps from one file, and what it dropped or should not have accepted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedRules {
    pub rules: Vec<Rule>,
    pub problems: Vec<RuleProblem>,
}

/// Parses the text of a rules file. `file` names it in problems. Never fails: udev never does either.
pub fn parse(file: &Path, bytes: &[u8]) -> ParsedRules {
    let mut out = ParsedRules::default();
    let problem = |line: Option<usize>, severity: Severity, reason: String| RuleProblem {
        file: file.to_path_buf(),
        line,
        severity,
        reason,
    };
    // The logical line being joined: (first physical line, text so far).
    let mut continuation: Option<(usize, Vec<u8>)> = None;
    let mut too_long = false;
    let mut last_line = 0;
    for (number, raw) in physical_lines(bytes) {
        last_line = number;
        if raw.len() > LINE_SIZE {
            out.problems.push(problem(
                Some(number),
                Severity::Ignored,
                format!("line longer than {LINE_SIZE} bytes: udev stops reading this file here"),
            ));
            resolve_gotos(file, &mut out);
            return out;
        }
        let line = skip_blanks(raw);
        if line.first() == Some(&b'#') {
            continue;
        }
        // Mirrors udev: while joining, `current` is the joined text; once too long, only the physical line.
        let mut current = line.to_vec();
        let mut start = number;
        if let Some((first, text)) = continuation.as_mut() {
            start = *first;
            if !too_long {
                too_long = text.len() + line.len() >= LINE_SIZE;
                text.extend_from_slice(line);
                if !too_long {
                    current = text.clone();
                }
            }
        }
        if current.last() == Some(&b'\\') {
            if !too_long {
                current.pop();
                continuation = Some((start, current));
            }
            continue;
        }
        if too_long {
            out.problems.push(problem(
                Some(start),
                Severity::Ignored,
                format!("joined line longer than {LINE_SIZE} bytes: udev ignores it"),
            ));
        } else if !current.is_empty() {
            let text = String::from_utf8_lossy(&current).into_owned();
            parse_rule(file, start, &text, &mut out);
        }
        continuation = None;
        too_long = false;
    }
    if continuation.is_some() {
        out.problems.push(problem(
            Some(last_line),
            Severity::Ignored,
            "the file ends inside a line continuation (trailing backslash): udev ignores that line".into(),
        ));
    }
    resolve_gotos(file, &mut out);
    out
}

/// Splits like systemd's `read_line()`: `\n`, `\r`, `\r\n`, `\n\r` and NUL each end one line.
fn physical_lines(bytes: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let mut pos = 0;
    let mut number = 0;
    std::iter::from_fn(move || {
        if pos >= bytes.len() {
            return None;
        }
        let start = pos;
        while pos < bytes.len() && !matches!(bytes[pos], b'\n' | b'\r' | 0) {
            pos += 1;
        }
        let line = &bytes[start..pos];
        if pos < bytes.len() {
            let eol = bytes[pos];
            pos += 1;
            if eol != 0 && pos < bytes.len() {
                let next = bytes[pos];
                if (next == b'\n' || next == b'\r') && next != eol {
                    pos += 1;
                }
            }
        }
        number += 1;
        Some((number, line))
    })
}

fn skip_blanks(line: &[u8]) -> &[u8] {
    let start = line
        .iter()
        .position(|&c| !is_udev_space(c as char))
        .unwrap_or(line.len());
    &line[start..]
}

/// udev's WHITESPACE: space, tab, newline, carriage return.
fn is_udev_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// A token as the lexer sees it, before udev validates the key.
struct RawToken {
    key: String,
    attr: Option<String>,
    op: Op,
    value: String,
    case_insensitive: bool,
    /// Commas between the previous token and this one.
    commas_before: usize,
}

/// Parses one logical line into a rule and adds it (or the reason udev drops it) to `out`.
fn parse_rule(file: &Path, line: usize, text: &str, out: &mut ParsedRules) {
    let problem = |severity: Severity, reason: String| RuleProblem {
        file: file.to_path_buf(),
        line: Some(line),
        severity,
        reason,
    };
    let mut rest = text;
    let mut raw_tokens = Vec::new();
    loop {
        match lex_token(rest) {
            Ok(None) => break,
            Ok(Some((token, after))) => {
                raw_tokens.push(token);
                rest = after;
            }
            Err(reason) => {
                out.problems.push(problem(
                    Severity::Ignored,
                    format!("invalid key/value pair ({reason}): udev ignores the whole line"),
                ));
                return;
            }
        }
    }

    let mut rule = Rule {
        line,
        matches: Vec::new(),
        assignments: Vec::new(),
        label: None,
        goto: None,
        goto_target: None,
    };
    let mut lints = Vec::new();
    for (i, raw) in raw_tokens.into_iter().enumerate() {
        if i > 0 && raw.commas_before == 0 {
            lints.push(format!(
                "missing comma before {}: udev reads the token anyway, but `udevadm verify` (systemd 254+) \
                 flags it and it hides typos; separate tokens with \", \"",
                raw.key
            ));
        }
        match classify(raw, &mut lints) {
            Classified::Token(token) => {
                if token.key.is_match() {
                    rule.matches.push(token);
                } else {
                    rule.assignments.push(token);
                }
            }
            Classified::Goto(label) => {
                if rule.goto.is_some() {
                    lints.push(format!("several GOTO keys: udev ignores GOTO=\"{label}\""));
                } else {
                    rule.goto = Some(label);
                }
            }
            Classified::Label(label) => rule.label = Some(label),
            Classified::Ignored => {}
            Classified::Invalid(reason) => {
                out.problems.push(problem(
                    Severity::Ignored,
                    format!("{reason}: udev ignores the whole line"),
                ));
                return;
            }
        }
    }
    lint_rule(&rule, &mut lints);
    out.problems
        .extend(lints.into_iter().map(|l| problem(Severity::Lint, l)));

    let has_effect = !rule.assignments.is_empty()
        || rule.goto.is_some()
        || rule.label.is_some()
        || rule.matches.iter().any(|t| matches!(t.key, Key::Program | Key::Import));
    if !has_effect {
        let attr_match = rule.matches.iter().rev().find(|t| t.key == Key::AttrMatch);
        let reason = match attr_match {
            Some(t) => format!(
                "the line only matches and assigns nothing, so udev ignores it: {} is a match (==), \
                 not an assignment; write {}{{{}}}=\"{}\" to set the attribute",
                t.display(),
                t.key_name,
                t.attr.as_deref().unwrap_or(""),
                t.value
            ),
            None => "the line only matches and assigns nothing: udev ignores it".to_string(),
        };
        out.problems.push(problem(Severity::Ignored, reason));
        return;
    }
    // udev sorts tokens by type; a stable sort keeps the written order within one type.
    rule.matches.sort_by_key(|t| t.key);
    rule.assignments.sort_by_key(|t| t.key);
    out.rules.push(rule);
}

/// Lints on a rule udev keeps: things it accepts that do not do what they look like.
fn lint_rule(rule: &Rule, lints: &mut Vec<String>) {
    for t in &rule.matches {
        if t.key == Key::AttrMatch && t.attr.as_deref() == Some("queue/scheduler") && t.op == Op::Match {
            lints.push(format!(
                "{} is a match, not an assignment (and queue/scheduler reads like \"none [mq-deadline]\", so a \
                 plain name rarely matches); write ATTR{{queue/scheduler}}=\"{}\" to set the scheduler",
                t.display(),
                t.value
            ));
        }
    }
    for t in &rule.assignments {
        if t.key == Key::EnvAssign && t.attr.as_deref() == Some("DEVTYPE") {
            lints.push(format!(
                "{} assigns the property instead of matching it; write ENV{{DEVTYPE}}==\"{}\"",
                t.display(),
                t.value
            ));
        }
    }
}

enum Classified {
    Token(Token),
    Goto(String),
    Label(String),
    /// A token udev accepts and drops (an unknown OPTIONS value).
    Ignored,
    Invalid(String),
}

/// udev's `parse_token()`: which keys take which operators and attributes.
fn classify(raw: RawToken, lints: &mut Vec<String>) -> Classified {
    let RawToken {
        key,
        attr,
        mut op,
        value,
        case_insensitive,
        ..
    } = raw;
    let is_match = op.is_match();
    let invalid_op = |op: Op| Classified::Invalid(format!("invalid operator {} for {key}", op.as_str()));
    let invalid_attr = || Classified::Invalid(format!("invalid attribute for {key}"));
    let no_attr = attr.is_none();
    let has_attr = attr.as_deref().is_some_and(|a| !a.is_empty());
    if !is_match && case_insensitive {
        return Classified::Invalid(format!("the i\"…\" prefix of {key} only works with == and !="));
    }
    let key_kind = match key.as_str() {
        "ACTION" | "DEVPATH" | "KERNEL" | "SUBSYSTEM" | "DRIVER" | "KERNELS" | "SUBSYSTEMS" | "DRIVERS" | "TAGS"
        | "RESULT" => {
            if !no_attr {
                return invalid_attr();
            }
            if !is_match {
                return invalid_op(op);
            }
            match key.as_str() {
                "ACTION" => Key::Action,
                "DEVPATH" => Key::Devpath,
                "KERNEL" => Key::Kernel,
                "SUBSYSTEM" => Key::Subsystem,
                "DRIVER" => Key::Driver,
                "KERNELS" => Key::Kernels,
                "SUBSYSTEMS" => Key::Subsystems,
                "DRIVERS" => Key::Drivers,
                "TAGS" => Key::Tags,
                _ => Key::Result,
            }
        }
        "CONST" => {
            if !matches!(attr.as_deref(), Some("arch" | "virt" | "cvm")) {
                return invalid_attr();
            }
            if !is_match {
                return invalid_op(op);
            }
            Key::Const
        }
        "ATTRS" => {
            if !has_attr {
                return invalid_attr();
            }
            if !is_match {
                return invalid_op(op);
            }
            Key::Attrs
        }
        "SYMLINK" => {
            if !no_attr {
                return invalid_attr();
            }
            if is_match {
                Key::SymlinkMatch
            } else {
                Key::SymlinkAssign
            }
        }
        "NAME" => {
            if !no_attr {
                return invalid_attr();
            }
            match op {
                Op::Remove => return invalid_op(op),
                Op::Add => op = Op::Assign,
                _ => {}
            }
            if is_match {
                Key::NameMatch
            } else {
                Key::NameAssign
            }
        }
        "ENV" => {
            if !has_attr {
                return invalid_attr();
            }
            match op {
                Op::Remove => return invalid_op(op),
                Op::AssignFinal => {
                    lints.push(format!("{key} takes ==, !=, = or +=: udev treats := as ="));
                    op = Op::Assign;
                }
                _ => {}
            }
            if is_match {
                Key::EnvMatch
            } else {
                Key::EnvAssign
            }
        }
        "TAG" => {
            if !no_attr {
                return invalid_attr();
            }
            if op == Op::AssignFinal {
                op = Op::Assign;
            }
            if is_match {
                Key::TagMatch
            } else {
                Key::TagAssign
            }
        }
        "ATTR" | "SYSCTL" => {
            if !has_attr {
                return invalid_attr();
            }
            match op {
                Op::Remove => return invalid_op(op),
                Op::Add | Op::AssignFinal => {
                    lints.push(format!(
                        "{key} takes ==, != or =: udev treats {} as = (an attribute write is never final; \
                         a later rule can still change it)",
                        op.as_str()
                    ));
                    op = Op::Assign;
                }
                _ => {}
            }
            match (key.as_str(), is_match) {
                ("ATTR", true) => Key::AttrMatch,
                ("ATTR", false) => Key::AttrAssign,
                (_, true) => Key::SysctlMatch,
                (_, false) => Key::SysctlAssign,
            }
        }
        "TEST" => {
            if let Some(mode) = attr.as_deref().filter(|a| !a.is_empty()) {
                if u32::from_str_radix(mode, 8).map_or(true, |m| m > 0o7777) {
                    return Classified::Invalid(format!("TEST{{{mode}}}: not an octal mode"));
                }
            }
            if !is_match {
                return invalid_op(op);
            }
            Key::Test
        }
        "PROGRAM" | "IMPORT" => {
            if key == "PROGRAM" && !no_attr {
                return invalid_attr();
            }
            if key == "IMPORT"
                && !matches!(
                    attr.as_deref(),
                    Some("file" | "program" | "builtin" | "db" | "cmdline" | "parent")
                )
            {
                return invalid_attr();
            }
            if op == Op::Remove {
                return invalid_op(op);
            }
            if !is_match {
                op = Op::Match;
            }
            if key == "PROGRAM" {
                Key::Program
            } else {
                Key::Import
            }
        }
        "OPTIONS" => {
            if !no_attr {
                return invalid_attr();
            }
            if is_match || op == Op::Remove {
                return invalid_op(op);
            }
            let known = [
                "dump",
                "string_escape=none",
                "string_escape=replace",
                "db_persist",
                "watch",
                "nowatch",
            ];
            let prefixed = ["static_node=", "link_priority=", "log_level="];
            if !known.contains(&value.as_str()) && !prefixed.iter().any(|p| value.starts_with(p)) {
                lints.push(format!("unknown OPTIONS value \"{value}\": udev ignores it"));
                return Classified::Ignored;
            }
            Key::Options
        }
        "OWNER" | "GROUP" | "MODE" => {
            if !no_attr {
                return invalid_attr();
            }
            if is_match || op == Op::Remove {
                return invalid_op(op);
            }
            if op == Op::Add {
                op = Op::Assign;
            }
            match key.as_str() {
                "OWNER" => Key::Owner,
                "GROUP" => Key::Group,
                _ => Key::Mode,
            }
        }
        "SECLABEL" => {
            if !has_attr {
                return invalid_attr();
            }
            if is_match || op == Op::Remove {
                return invalid_op(op);
            }
            Key::Seclabel
        }
        "RUN" => {
            if is_match || op == Op::Remove {
                return invalid_op(op);
            }
            if !matches!(attr.as_deref(), None | Some("program" | "builtin")) {
                return invalid_attr();
            }
            Key::Run
        }
        "GOTO" | "LABEL" => {
            if !no_attr {
                return invalid_attr();
            }
            if op != Op::Assign {
                return invalid_op(op);
            }
            return if key == "GOTO" {
                Classified::Goto(value)
            } else {
                Classified::Label(value)
            };
        }
        _ => return Classified::Invalid(format!("unknown key {key}")),
    };
    Classified::Token(Token {
        key: key_kind,
        key_name: key,
        attr,
        op,
        value,
        case_insensitive,
    })
}

/// udev's `parse_line()`: the next `KEY{attr} OP "value"` after commas and blanks, and the text after it.
/// `Ok(None)` at the end of the line.
fn lex_token(text: &str) -> Result<Option<(RawToken, &str)>, String> {
    let commas_before = text
        .chars()
        .take_while(|&c| c == ',' || is_udev_space(c))
        .filter(|&c| c == ',')
        .count();
    let start = text.trim_start_matches(|c: char| c == ',' || is_udev_space(c));
    if start.is_empty() {
        return Ok(None);
    }
    let bytes = start.as_bytes();
    let mut key_end = 0;
    loop {
        let Some(&c) = bytes.get(key_end) else {
            return Err("no operator".into());
        };
        if matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'=' | b'{') {
            break;
        }
        if matches!(c, b'+' | b'-' | b'!' | b':') && bytes.get(key_end + 1) == Some(&b'=') {
            break;
        }
        key_end += 1;
    }
    let key = &start[..key_end];
    let (attr, after_key) = if bytes[key_end] == b'{' {
        let inner = &start[key_end + 1..];
        let close = inner.find('}').ok_or("no closing } after the attribute")?;
        (Some(inner[..close].to_string()), &inner[close + 1..])
    } else {
        (None, &start[key_end..])
    };
    let op_text = after_key.trim_start_matches(is_udev_space);
    let (op, op_len) = if op_text.starts_with("==") {
        (Op::Match, 2)
    } else if op_text.starts_with("!=") {
        (Op::NoMatch, 2)
    } else if op_text.starts_with("+=") {
        (Op::Add, 2)
    } else if op_text.starts_with("-=") {
        (Op::Remove, 2)
    } else if op_text.starts_with('=') {
        (Op::Assign, 1)
    } else if op_text.starts_with(":=") {
        (Op::AssignFinal, 2)
    } else {
        return Err(format!("no operator after {key}"));
    };
    let value_text = op_text[op_len..].trim_start_matches(is_udev_space);
    let (value, case_insensitive, rest) = lex_value(value_text)?;
    Ok(Some((
        RawToken {
            key: key.to_string(),
            attr,
            op,
            value,
            case_insensitive,
            commas_before,
        },
        rest,
    )))
}

/// udev's `udev_rule_parse_value()`: an optionally `e`/`i`-prefixed double-quoted value.
fn lex_value(text: &str) -> Result<(String, bool, &str), String> {
    let mut escaped = false;
    let mut case_insensitive = false;
    let mut rest = text;
    for _ in 0..2 {
        if rest.starts_with('"') {
            break;
        }
        if rest.starts_with('e') && !escaped {
            escaped = true;
        } else if rest.starts_with('i') && !case_insensitive {
            case_insensitive = true;
        } else {
            return Err("the value is not in double quotes".into());
        }
        rest = &rest[1..];
    }
    let Some(body) = rest.strip_prefix('"') else {
        return Err("the value is not in double quotes".into());
    };
    let mut value = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                let value = if escaped { unescape_c(&value)? } else { value };
                return Ok((value, case_insensitive, &body[i + 1..]));
            }
            '\\' => {
                let next = chars.clone().next().map(|(_, n)| n);
                if escaped {
                    // Keep the escape for cunescape; it only decides where the value ends.
                    value.push('\\');
                    if let Some((_, n)) = chars.next() {
                        value.push(n);
                    }
                } else if next == Some('"') {
                    chars.next();
                    value.push('"');
                } else {
                    value.push('\\');
                }
            }
            _ => value.push(c),
        }
    }
    Err("the closing double quote is missing".into())
}

/// systemd's `cunescape()` for `e"…"` values: C escapes; an unknown escape is an error.
fn unescape_c(text: &str) -> Result<String, String> {
    let mut out: Vec<u8> = Vec::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let Some(&c) = bytes.get(i + 1) else {
            return Err("a trailing backslash in an e\"…\" value".into());
        };
        i += 2;
        let simple = match c {
            b'a' => Some(7),
            b'b' => Some(8),
            b'f' => Some(12),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'v' => Some(11),
            b'\\' | b'"' | b'\'' | b'?' => Some(c),
            _ => None,
        };
        if let Some(s) = simple {
            out.push(s);
            continue;
        }
        if c == b'x' {
            let hex = bytes.get(i..i + 2).and_then(|h| std::str::from_utf8(h).ok());
            let v = hex
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or("a bad \\x escape")?;
            if v == 0 {
                return Err("\\x00 in an e\"…\" value".into());
            }
            out.push(v);
            i += 2;
            continue;
        }
        if (b'0'..=b'3').contains(&c) {
            let oct = bytes
                .get(i..i + 2)
                .filter(|o| o.iter().all(|d| (b'0'..=b'7').contains(d)));
            let Some(oct) = oct else {
                return Err("a bad octal escape".into());
            };
            let v = (c - b'0') * 64 + (oct[0] - b'0') * 8 + (oct[1] - b'0');
            if v == 0 {
                return Err("\\000 in an e\"…\" value".into());
            }
            out.push(v);
            i += 2;
            continue;
        }
        return Err(format!("unknown escape \\{}", c as char));
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Links each GOTO to the first later rule with that LABEL; a GOTO without one is dropped, as udev does.
fn resolve_gotos(file: &Path, out: &mut ParsedRules) {
    let mut dropped = Vec::new();
    for i in 0..out.rules.len() {
        let Some(label) = out.rules[i].goto.clone() else {
            continue;
        };
        let target = (i + 1..out.rules.len()).find(|&j| out.rules[j].label.as_deref() == Some(label.as_str()));
        if let Some(j) = target {
            out.rules[i].goto_target = Some(j);
            continue;
        }
        out.problems.push(RuleProblem {
            file: file.to_path_buf(),
            line: Some(out.rules[i].line),
            severity: Severity::Ignored,
            reason: format!("GOTO=\"{label}\" has no later LABEL=\"{label}\" in this file: udev ignores the GOTO"),
        });
        let rule = &mut out.rules[i];
        rule.goto = None;
        let only_goto = rule.assignments.is_empty()
            && rule.label.is_none()
            && !rule.matches.iter().any(|t| matches!(t.key, Key::Program | Key::Import));
        if only_goto {
            dropped.push(i);
        }
    }
    if dropped.is_empty() {
        return;
    }
    // Dropping lines shifts indices: remap the targets of the remaining GOTOs.
    let mut new_index = Vec::with_capacity(out.rules.len());
    let mut next = 0;
    for i in 0..out.rules.len() {
        new_index.push(next);
        if !dropped.contains(&i) {
            next += 1;
        }
    }
    let old = std::mem::take(&mut out.rules);
    for (i, mut rule) in old.into_iter().enumerate() {
        if dropped.contains(&i) {
            continue;
        }
        rule.goto_target = rule.goto_target.map(|t| new_index[t]);
        out.rules.push(rule);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMPLIANT: &str = "\
# Managed by citadel-check: I/O schedulers for the Citadel storage disks.
ACTION==\"add|change\", SUBSYSTEM==\"block\", ENV{DEVTYPE}==\"disk\", KERNEL==\"nvme[0-9]*n[0-9]*\", ATTR{queue/scheduler}=\"none\"
ACTION==\"add|change\", SUBSYSTEM==\"block\", ENV{DEVTYPE}==\"disk\", KERNEL==\"sd[a-z]*\", ATTR{queue/rotational}==\"1\", ATTR{queue/scheduler}=\"mq-deadline\"
";

    fn parse_str(text: &str) -> ParsedRules {
        parse(Path::new("/etc/udev/rules.d/t.rules"), text.as_bytes())
    }

    fn reasons(p: &ParsedRules) -> Vec<String> {
        p.problems.iter().map(|p| p.reason.clone()).collect()
    }

    #[test]
    fn the_citadel_rules_parse_into_two_rules() {
        let p = parse_str(COMPLIANT);
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        assert_eq!(p.rules.len(), 2);
        let r = &p.rules[0];
        assert_eq!(r.line, 2);
        let keys: Vec<Key> = r.matches.iter().map(|t| t.key).collect();
        assert_eq!(keys, [Key::Action, Key::Kernel, Key::EnvMatch, Key::Subsystem]);
        assert_eq!(r.matches[0].value, "add|change");
        assert_eq!(r.matches[2].attr.as_deref(), Some("DEVTYPE"));
        assert_eq!(r.assignments.len(), 1);
        assert_eq!(r.assignments[0].key, Key::AttrAssign);
        assert_eq!(r.assignments[0].attr.as_deref(), Some("queue/scheduler"));
        assert_eq!(r.assignments[0].value, "none");
        assert_eq!(p.rules[1].line, 3);
        assert_eq!(p.rules[1].assignments[0].value, "mq-deadline");
    }

    #[test]
    fn continuation_joins_lines_and_comments_inside_are_skipped() {
        let text =
            "ACTION==\"add\", \\\n  # a comment inside\n  KERNEL==\"sda\", \\\n  ATTR{queue/scheduler}=\"bfq\"\n";
        let p = parse_str(text);
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        assert_eq!(p.rules.len(), 1);
        assert_eq!(p.rules[0].line, 1);
        assert_eq!(p.rules[0].matches.len(), 2);
    }

    #[test]
    fn continuation_at_end_of_file_is_dropped() {
        let p = parse_str("KERNEL==\"sda\", ATTR{queue/scheduler}=\"bfq\" \\");
        assert!(p.rules.is_empty());
        assert!(reasons(&p)[0].contains("ends inside a line continuation"));
    }

    #[test]
    fn crlf_cr_and_nul_end_lines() {
        let p = parse_str("KERNEL==\"a\", ATTR{x}=\"1\"\r\nKERNEL==\"b\", ATTR{x}=\"2\"\rKERNEL==\"c\", ATTR{x}=\"3\"\0KERNEL==\"d\", ATTR{x}=\"4\"\n\nKERNEL==\"e\", ATTR{x}=\"5\"");
        let lines: Vec<usize> = p.rules.iter().map(|r| r.line).collect();
        assert_eq!(lines, [1, 2, 3, 4, 6]);
        assert!(p.problems.is_empty());
    }

    #[test]
    fn a_match_instead_of_an_assignment_is_dropped_with_a_clear_reason() {
        let p = parse_str("KERNEL==\"nvme[0-9]*n[0-9]*\", ATTR{queue/scheduler}==\"none\"\n");
        assert!(p.rules.is_empty());
        let ignored: Vec<&RuleProblem> = p.problems.iter().filter(|p| p.severity == Severity::Ignored).collect();
        assert_eq!(ignored.len(), 1);
        assert!(ignored[0].reason.contains("ATTR{queue/scheduler}==\"none\" is a match"));
        assert!(ignored[0].reason.contains("ATTR{queue/scheduler}=\"none\""));
        assert_eq!(ignored[0].line, Some(1));
        // The lint also names it.
        assert!(p
            .problems
            .iter()
            .any(|p| p.severity == Severity::Lint && p.reason.contains("is a match")));
    }

    #[test]
    fn missing_comma_is_accepted_but_linted() {
        let p = parse_str("KERNEL==\"sda\" ATTR{queue/scheduler}=\"bfq\"\n");
        assert_eq!(p.rules.len(), 1);
        assert_eq!(p.problems.len(), 1);
        assert_eq!(p.problems[0].severity, Severity::Lint);
        assert!(p.problems[0].reason.contains("missing comma before ATTR"));
    }

    #[test]
    fn operator_rules_of_udev() {
        // KERNEL cannot be assigned: the whole line is ignored.
        let p = parse_str("KERNEL=\"sda\", ATTR{queue/scheduler}=\"bfq\"\n");
        assert!(p.rules.is_empty());
        assert!(reasons(&p)[0].contains("invalid operator = for KERNEL"));
        // ATTR := is treated as =.
        let p = parse_str("KERNEL==\"sda\", ATTR{queue/scheduler}:=\"bfq\"\n");
        assert_eq!(p.rules[0].assignments[0].op, Op::Assign);
        assert!(reasons(&p)[0].contains("treats := as ="));
        // ATTR -= is invalid.
        assert!(parse_str("ATTR{x}-=\"1\"\n").rules.is_empty());
        // PROGRAM= acts as a match.
        let p = parse_str("PROGRAM=\"/bin/true\"\n");
        assert_eq!(p.rules[0].matches[0].op, Op::Match);
        // Unknown key.
        let p = parse_str("FOO==\"x\", ATTR{x}=\"1\"\n");
        assert!(p.rules.is_empty());
        assert!(reasons(&p)[0].contains("unknown key FOO"));
        // ENV without a name.
        assert!(parse_str("ENV==\"x\", ATTR{x}=\"1\"\n").rules.is_empty());
        assert!(parse_str("ENV{}==\"x\", ATTR{x}=\"1\"\n").rules.is_empty());
    }

    #[test]
    fn values_quotes_and_escapes() {
        let p = parse_str("ENV{A}==\"a\\\"b\", ATTR{x}=\"c\\d\"\n");
        assert_eq!(p.rules[0].matches[0].value, "a\"b");
        assert_eq!(p.rules[0].assignments[0].value, "c\\d");
        let p = parse_str("ENV{A}=e\"x\\ty\"\n");
        assert_eq!(p.rules[0].assignments[0].value, "x\ty");
        let p = parse_str("KERNEL==i\"SDA\", ATTR{x}=\"1\"\n");
        assert!(p.rules[0].matches[0].case_insensitive);
        assert!(parse_str("ENV{A}=e\"\\q\"\n").rules.is_empty());
        assert!(parse_str("KERNEL==sda, ATTR{x}=\"1\"\n").rules.is_empty());
        assert!(parse_str("KERNEL==\"sda, ATTR{x}=\"1\n").rules.is_empty());
        assert!(parse_str("ATTR{x=\"1\"\n").rules.is_empty());
        // Blanks around the operator are fine.
        assert_eq!(parse_str("KERNEL == \"sda\" , ATTR{x} = \"1\"\n").rules.len(), 1);
    }

    #[test]
    fn goto_and_label_are_linked() {
        let text = "\
SUBSYSTEM!=\"block\", GOTO=\"end\"
KERNEL==\"sda\", ATTR{queue/scheduler}=\"bfq\"
LABEL=\"end\"
";
        let p = parse_str(text);
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        assert_eq!(p.rules.len(), 3);
        assert_eq!(p.rules[0].goto_target, Some(2));
        assert_eq!(p.rules[2].label.as_deref(), Some("end"));
    }

    #[test]
    fn goto_without_label_is_dropped_and_targets_are_remapped() {
        let text = "\
KERNEL==\"x\", GOTO=\"nowhere\"
KERNEL==\"y\", GOTO=\"end\"
KERNEL==\"sda\", ATTR{a}=\"1\"
LABEL=\"end\"
";
        let p = parse_str(text);
        assert_eq!(p.rules.len(), 3);
        assert_eq!(p.rules[0].goto_target, Some(2));
        assert_eq!(p.rules[2].label.as_deref(), Some("end"));
        assert!(reasons(&p)[0].contains("no later LABEL=\"nowhere\""));
        // A GOTO only jumps forward.
        let p = parse_str("LABEL=\"a\"\nKERNEL==\"x\", GOTO=\"a\"\n");
        assert_eq!(p.rules.len(), 1);
    }

    #[test]
    fn devtype_assignment_is_linted() {
        let p = parse_str("ENV{DEVTYPE}=\"disk\", ATTR{queue/scheduler}=\"none\"\n");
        assert_eq!(p.rules.len(), 1);
        assert!(reasons(&p).iter().any(|r| r.contains("ENV{DEVTYPE}==\"disk\"")));
    }

    #[test]
    fn over_long_lines_stop_the_file_without_panicking() {
        let mut text = String::from("KERNEL==\"a\", ATTR{x}=\"1\"\n");
        text.push_str(&"A".repeat(2 * 1024 * 1024));
        text.push_str("\nKERNEL==\"b\", ATTR{x}=\"2\"\n");
        let p = parse_str(&text);
        assert_eq!(p.rules.len(), 1);
        assert!(reasons(&p)[0].contains("longer than 16384"));
        assert_eq!(p.problems[0].line, Some(2));
        // A continuation that grows too long is ignored, the file goes on.
        let mut text = String::new();
        for _ in 0..20 {
            text.push_str(&format!("ENV{{A}}==\"{}\", \\\n", "b".repeat(1000)));
        }
        text.push_str("ATTR{x}=\"1\"\nKERNEL==\"c\", ATTR{x}=\"2\"\n");
        let p = parse_str(&text);
        assert_eq!(p.rules.len(), 1);
        assert_eq!(p.rules[0].line, 22);
        assert!(reasons(&p)[0].contains("joined line longer"));
    }

    #[test]
    fn garbage_and_binary_never_panic() {
        let mut junk: Vec<u8> = Vec::new();
        for i in 0..20000u32 {
            junk.push((i.wrapping_mul(2654435761) >> 13) as u8);
        }
        let _ = parse(Path::new("/x"), &junk);
        for s in [
            "",
            "\\",
            "\"",
            "{",
            "}",
            "=",
            "==",
            "A",
            "A{",
            "A{b",
            "A{b}",
            "A{b}=",
            "A{b}=\"",
            "A{b}=e\"\\",
            "é=\"x\"",
            "ATTR{é}=\"ü\"",
            ",,,,",
            "  \t ",
            "#",
            "\\\n\\\n",
            "KERNEL==\"\\\"",
            "ENV{A}=ei\"x\"",
            "ENV{A}=ii\"x\"",
            "KERNEL==e\"\\x\"",
            "KERNEL==e\"\\x4\"",
            "KERNEL==e\"\\1\"",
            "TEST{99999999999}==\"x\"",
        ] {
            let _ = parse_str(s);
            let _ = parse_str(&format!("{s}\n{s}\n"));
        }
    }
}
