//! Where things are in a policy file: every key and value of the TOML document with its byte span, so that an
//! error found by serde or by the validator can name the line, column and key it is about.

use std::fmt;
use std::ops::Range;

use toml::de::{DeTable, DeValue};

/// One step of a key path: a table key, or an index into an array (of tables).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// A path to a value in the policy, such as `storage.models.mount_point` or `tools[1].name`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyPath(pub Vec<Segment>);

impl KeyPath {
    /// A path of plain keys: `KeyPath::keys(&["storage", "models", "scheduler"])`.
    pub fn keys(keys: &[&str]) -> KeyPath {
        KeyPath(keys.iter().map(|k| Segment::Key((*k).to_string())).collect())
    }

    pub fn key(mut self, key: &str) -> KeyPath {
        self.0.push(Segment::Key(key.to_string()));
        self
    }

    pub fn index(mut self, index: usize) -> KeyPath {
        self.0.push(Segment::Index(index));
        self
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How a message names the table this path is: `[storage.models]`, `[[tools]] entry 2`, `the top level`.
    pub fn table_name(&self) -> String {
        if self.0.is_empty() {
            return "the top level".to_string();
        }
        if let Some((Segment::Index(i), parent)) = self.0.split_last() {
            return format!("[[{}]] entry {}", KeyPath(parent.to_vec()), i + 1);
        }
        format!("[{self}]")
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(k) if n == 0 => write!(f, "{k}")?,
                Segment::Key(k) => write!(f, ".{k}")?,
                Segment::Index(i) => write!(f, "[{i}]")?,
            }
        }
        Ok(())
    }
}

/// A key or array element of the document and where it is.
#[derive(Debug, Clone)]
struct Entry {
    path: KeyPath,
    /// `None` for an array element.
    key_span: Option<Range<usize>>,
    /// For a table opened by a header (`[storage.models]`), the header.
    value_span: Range<usize>,
    is_table: bool,
}

/// A TOML syntax error: the parser's message and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub message: String,
    pub span: Option<Range<usize>>,
}

/// A 1-based line and column, with the text of that line, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub line: usize,
    pub column: usize,
    /// The line the location is on, without its line ending.
    pub line_text: String,
    /// How many characters of that line the offending item covers (at least 1).
    pub width: usize,
}

/// The span index of one TOML text. Built from the parser's recoverable mode, so that even a document with a
/// syntax error tells which key or table the error is in.
#[derive(Debug)]
pub struct Document<'a> {
    text: &'a str,
    entries: Vec<Entry>,
}

impl<'a> Document<'a> {
    /// Indexes `text`, and returns the first syntax error if there is one.
    pub fn parse(text: &'a str) -> (Document<'a>, Option<SyntaxError>) {
        let (table, errors) = DeTable::parse_recoverable(text);
        let mut entries = Vec::new();
        index_table(table.get_ref(), &KeyPath::default(), &mut entries);
        let first_error = errors.first().map(|e| SyntaxError {
            message: e.message().to_string(),
            span: e.span(),
        });
        (Document { text, entries }, first_error)
    }

    /// The span of the value at `path` (for a table opened by a header, the header).
    pub fn value_span(&self, path: &KeyPath) -> Option<Range<usize>> {
        self.entries
            .iter()
            .find(|e| &e.path == path)
            .map(|e| e.value_span.clone())
    }

    /// The span of the key at `path`, or of the value for an array element.
    pub fn key_span(&self, path: &KeyPath) -> Option<Range<usize>> {
        let entry = self.entries.iter().find(|e| &e.path == path)?;
        Some(entry.key_span.clone().unwrap_or_else(|| entry.value_span.clone()))
    }

    /// Where the key of `path` is written: for an array element, the key of the array holding it.
    pub fn key_start(&self, path: &KeyPath) -> Option<usize> {
        let keyed = path.0.iter().rposition(|s| matches!(s, Segment::Key(_)))?;
        self.key_span(&KeyPath(path.0[..=keyed].to_vec())).map(|s| s.start)
    }

    /// The whole line `offset` is on, without its line ending.
    pub fn line_of(&self, offset: usize) -> &'a str {
        let offset = floor_char_boundary(self.text, offset);
        let start = self.text[..offset].rfind('\n').map_or(0, |i| i + 1);
        let end = self.text[offset..].find('\n').map_or(self.text.len(), |i| offset + i);
        self.text[start..end].trim_end_matches('\r')
    }

    /// The most specific key or value whose span contains `offset`.
    pub fn path_at(&self, offset: usize) -> Option<&KeyPath> {
        self.entries
            .iter()
            .filter(|e| e.key_span.iter().chain([&e.value_span]).any(|s| contains(s, offset)))
            .min_by_key(|e| {
                let narrowest = e
                    .key_span
                    .iter()
                    .chain([&e.value_span])
                    .filter(|s| contains(s, offset))
                    .map(|s| s.len())
                    .min();
                (narrowest, usize::MAX - e.path.0.len())
            })
            .map(|e| &e.path)
    }

    /// The table whose header comes last before `offset`: the table a line at `offset` belongs to. The top
    /// level (an empty path) when no header precedes it.
    pub fn table_at(&self, offset: usize) -> KeyPath {
        self.entries
            .iter()
            .filter(|e| e.is_table && e.value_span.start <= offset)
            .max_by_key(|e| (e.value_span.start, e.path.0.len()))
            .map(|e| e.path.clone())
            .unwrap_or_default()
    }

    /// The line and column of `span`'s start.
    pub fn location(&self, span: Range<usize>) -> Location {
        let start = floor_char_boundary(self.text, span.start);
        let line_start = self.text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = self.text[start..].find('\n').map_or(self.text.len(), |i| start + i);
        let line_text = self.line_of(start).to_string();
        let end = floor_char_boundary(self.text, span.end.clamp(start, line_end));
        Location {
            line: self.text[..line_start].matches('\n').count() + 1,
            column: self.text[line_start..start].chars().count() + 1,
            width: self.text[start..end].chars().count().max(1),
            line_text,
        }
    }

    /// The text of `span`, if it is a valid range of the document.
    pub fn text_of(&self, span: Range<usize>) -> Option<&'a str> {
        self.text.get(span)
    }
}

fn index_table(table: &DeTable<'_>, parent: &KeyPath, entries: &mut Vec<Entry>) {
    for (key, value) in table.iter() {
        let path = parent.clone().key(key.get_ref());
        entries.push(Entry {
            path: path.clone(),
            key_span: Some(key.span()),
            value_span: value.span(),
            is_table: value.get_ref().is_table(),
        });
        index_value(value.get_ref(), &path, entries);
    }
}

fn index_value(value: &DeValue<'_>, path: &KeyPath, entries: &mut Vec<Entry>) {
    match value {
        DeValue::Table(table) => index_table(table, path, entries),
        DeValue::Array(array) => {
            for (i, element) in array.iter().enumerate() {
                let element_path = path.clone().index(i);
                entries.push(Entry {
                    path: element_path.clone(),
                    key_span: None,
                    value_span: element.span(),
                    is_table: element.get_ref().is_table(),
                });
                index_value(element.get_ref(), &element_path, entries);
            }
        }
        _ => {}
    }
}

/// An empty span (the parser's "here" for a missing value) contains its own start.
fn contains(span: &Range<usize>, offset: usize) -> bool {
    span.contains(&offset) || (span.is_empty() && span.start == offset)
}

fn floor_char_boundary(text: &str, mut index: usize) -> usize {
    index = index.min(text.len());
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "# comment\n[storage.models]\nmount_point = \"/m\"\nnames = [\"a\", \"b\"]\n\n[[tools]]\nname = \"x\"\n\n[[tools]]\nname = \"y\"\n";

    #[test]
    fn paths_display_like_toml_keys() {
        assert_eq!(KeyPath::keys(&["storage", "models"]).to_string(), "storage.models");
        assert_eq!(
            KeyPath::keys(&["tools"]).index(1).key("name").to_string(),
            "tools[1].name"
        );
        assert_eq!(KeyPath::keys(&["storage", "models"]).table_name(), "[storage.models]");
        assert_eq!(KeyPath::keys(&["tools"]).index(1).table_name(), "[[tools]] entry 2");
        assert_eq!(KeyPath::default().table_name(), "the top level");
    }

    #[test]
    fn finds_keys_values_and_tables_by_offset() {
        let (doc, err) = Document::parse(DOC);
        assert!(err.is_none());
        let at = |needle: &str| DOC.find(needle).unwrap();
        assert_eq!(
            doc.path_at(at("mount_point")).unwrap().to_string(),
            "storage.models.mount_point"
        );
        assert_eq!(doc.path_at(at("\"b\"")).unwrap().to_string(), "storage.models.names[1]");
        assert_eq!(doc.path_at(at("\"y\"")).unwrap().to_string(), "tools[1].name");
        assert_eq!(doc.table_at(at("name = \"y\"")).to_string(), "tools[1]");
        assert_eq!(doc.table_at(0), KeyPath::default());
    }

    #[test]
    fn locations_are_one_based_lines_and_character_columns() {
        let (doc, _) = Document::parse(DOC);
        let span = doc
            .value_span(&KeyPath::keys(&["storage", "models", "names"]).index(1))
            .unwrap();
        let loc = doc.location(span);
        assert_eq!((loc.line, loc.column, loc.width), (4, 15, 3));
        assert_eq!(loc.line_text, "names = [\"a\", \"b\"]");
        let header = doc.value_span(&KeyPath::keys(&["tools"]).index(1)).unwrap();
        assert_eq!(doc.location(header).line, 9);
    }

    #[test]
    fn a_broken_document_still_locates_its_keys() {
        let text = "[a]\nx = 1\ny = \nz = 2\n";
        let (doc, err) = Document::parse(text);
        let err = err.unwrap();
        assert!(err.message.contains("quoted"), "{}", err.message);
        let span = err.span.unwrap();
        assert_eq!(doc.path_at(span.start).unwrap().to_string(), "a.y");
        assert_eq!(doc.location(span).line, 3);
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let text = "name = \"é\" x\n";
        let (doc, err) = Document::parse(text);
        let span = err.unwrap().span.unwrap();
        assert_eq!(doc.location(span).column, 12);
    }
}
