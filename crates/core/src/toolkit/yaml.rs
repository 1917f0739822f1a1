//! YAML as PyYAML's `safe_dump` writes it (what tk-core uses for `authentication.yml`): block
//! style, keys sorted, sequences in mappings not indented, strings plain unless YAML 1.1 would
//! read them as something else, then single-quoted.

use yaml_rust2::Yaml;
use yaml_rust2::yaml::Hash;

/// Why a file was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Anchors and aliases: tk-core never writes them, and expanding them is how a few bytes
    /// become gigabytes ("billion laughs").
    Aliases,
    /// Lists and mappings nested deeper than [`MAX_DEPTH`]: tk-core's files are three levels
    /// deep, and every level costs stack in the reader, the writer and in dropping the
    /// document, so a small file nested deep enough would crash the app.
    TooDeep,
}

/// How deep lists and mappings may nest in a file that is read.
pub const MAX_DEPTH: usize = 32;

/// Reads a document; anything that is not a mapping (or does not parse) reads as empty, as
/// tk-core does with a corrupt file. A document with anchors or aliases, or nested deeper than
/// [`MAX_DEPTH`], is refused.
pub fn load(text: &str) -> Result<Hash, Refused> {
    use yaml_rust2::parser::{Event, Parser};
    // Looked at as events first: the loader would expand every alias before we saw it.
    let mut parser = Parser::new_from_str(text);
    let mut depth = 0_usize;
    loop {
        match parser.next_token() {
            Ok((Event::StreamEnd, _)) | Err(_) => break,
            Ok((
                Event::Alias(_)
                | Event::Scalar(_, _, 1.., _)
                | Event::SequenceStart(1.., _)
                | Event::MappingStart(1.., _),
                _,
            )) => return Err(Refused::Aliases),
            Ok((Event::SequenceStart(..) | Event::MappingStart(..), _)) => {
                depth = depth.saturating_add(1);
                if depth > MAX_DEPTH {
                    return Err(Refused::TooDeep);
                }
            }
            Ok((Event::SequenceEnd | Event::MappingEnd, _)) => depth = depth.saturating_sub(1),
            Ok(_) => {}
        }
    }
    Ok(match yaml_rust2::YamlLoader::load_from_str(text) {
        Ok(mut docs) if !docs.is_empty() => match docs.swap_remove(0) {
            Yaml::Hash(hash) => hash,
            _ => Hash::new(),
        },
        _ => Hash::new(),
    })
}

/// Writes `map` as `yaml.safe_dump(map)` would.
pub fn dump(map: &Hash) -> String {
    if map.is_empty() {
        return "{}\n".to_owned();
    }
    let mut out = String::new();
    mapping(map, 0, &mut out);
    out
}

fn sorted(map: &Hash) -> Vec<(&Yaml, &Yaml)> {
    let mut entries: Vec<_> = map.iter().collect();
    entries.sort_by_key(|(k, _)| scalar(k));
    entries
}

fn mapping(map: &Hash, indent: usize, out: &mut String) {
    for (key, value) in sorted(map) {
        out.push_str(&" ".repeat(indent));
        out.push_str(&scalar(key));
        out.push(':');
        value_after_key(value, indent, out);
    }
}

/// A value after `key:`: nested blocks on the next lines, scalars on the same line.
fn value_after_key(value: &Yaml, indent: usize, out: &mut String) {
    match value {
        Yaml::Hash(h) if !h.is_empty() => {
            out.push('\n');
            mapping(h, indent + 2, out);
        }
        // PyYAML does not indent a sequence inside a mapping.
        Yaml::Array(a) if !a.is_empty() => {
            out.push('\n');
            sequence(a, indent, out);
        }
        other => {
            out.push(' ');
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}

fn sequence(items: &[Yaml], indent: usize, out: &mut String) {
    for item in items {
        out.push_str(&" ".repeat(indent));
        out.push_str("- ");
        match item {
            Yaml::Hash(h) if !h.is_empty() => {
                // The first key shares the dash's line; the others line up under it.
                for (i, (key, value)) in sorted(h).into_iter().enumerate() {
                    if i > 0 {
                        out.push_str(&" ".repeat(indent + 2));
                    }
                    out.push_str(&scalar(key));
                    out.push(':');
                    value_after_key(value, indent + 2, out);
                }
            }
            Yaml::Array(a) if !a.is_empty() => {
                out.push('\n');
                sequence(a, indent + 2, out);
            }
            other => {
                out.push_str(&scalar(other));
                out.push('\n');
            }
        }
    }
}

fn scalar(value: &Yaml) -> String {
    match value {
        Yaml::String(s) => string(s),
        Yaml::Integer(i) => i.to_string(),
        Yaml::Real(r) => r.clone(),
        Yaml::Boolean(b) => b.to_string(),
        Yaml::Hash(_) => "{}".to_owned(),
        Yaml::Array(_) => "[]".to_owned(),
        Yaml::Null | Yaml::Alias(_) | Yaml::BadValue => "null".to_owned(),
    }
}

/// A string plain when PyYAML would leave it plain and both PyYAML and our reader read it back
/// as this very string, else single-quoted; double-quoted with escapes when it holds a control
/// character, as PyYAML writes those (single quotes would fold a line break into a space, or
/// make a file no reader takes).
fn string(s: &str) -> String {
    if s.chars().any(needs_escape) {
        double_quoted(s)
    } else if needs_quotes(s) || !reads_back_plain(s) {
        format!("'{}'", s.replace('\'', "''"))
    } else {
        s.to_owned()
    }
}

/// Characters a YAML file cannot hold as they are: control characters, and what YAML 1.1
/// (PyYAML) reads as a line break or a byte order mark.
fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}')
}

/// `s` in double quotes, escaped as PyYAML's emitter does.
fn double_quoted(s: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(s.len().saturating_add(2));
    out.push('"');
    for c in s.chars() {
        let short = match c {
            '\0' => Some('0'),
            '\u{7}' => Some('a'),
            '\u{8}' => Some('b'),
            '\t' => Some('t'),
            '\n' => Some('n'),
            '\u{b}' => Some('v'),
            '\u{c}' => Some('f'),
            '\r' => Some('r'),
            '\u{1b}' => Some('e'),
            '"' => Some('"'),
            '\\' => Some('\\'),
            '\u{85}' => Some('N'),
            '\u{2028}' => Some('L'),
            '\u{2029}' => Some('P'),
            _ => None,
        };
        match (short, u32::from(c)) {
            (Some(short), _) => {
                out.push('\\');
                out.push(short);
            }
            (None, code) if needs_escape(c) && code <= 0xff => {
                let _ = write!(out, "\\x{code:02X}");
            }
            (None, code) if needs_escape(c) => {
                let _ = write!(out, "\\u{code:04X}");
            }
            (None, _) => out.push(c),
        }
    }
    out.push('"');
    out
}

/// True when our own reader (YAML 1.2) reads `s`, written plain, back as the string `s`:
/// `0o17` is a string to PyYAML but a number to it.
fn reads_back_plain(s: &str) -> bool {
    matches!(
        yaml_rust2::YamlLoader::load_from_str(s).as_deref(),
        Ok([Yaml::String(read)]) if read == s
    )
}

fn needs_quotes(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return true;
    };
    let second = s.chars().nth(1);
    let lone_or_spaced = second.is_none_or(|c| c == ' ');
    s.starts_with(' ')
        || s.ends_with(' ')
        || "#,[]{}&*!|>'\"%@`".contains(first)
        || ("-?:".contains(first) && lone_or_spaced)
        || s.contains(": ")
        || s.contains(" #")
        || s.ends_with(':')
        || resolves_to_non_string(s)
}

/// PyYAML's implicit resolvers (`yaml/resolver.py`): plain text matching one of these would be
/// read back as a bool, float, int, merge key, null, timestamp or value, not a string.
const RESOLVERS: [&str; 7] = [
    r"^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$",
    r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
    r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$",
    r"^(?:<<)$",
    r"^(?:~|null|Null|NULL|)$",
    r"^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$",
    r"^(?:=)$",
];

fn resolves_to_non_string(s: &str) -> bool {
    static PATTERNS: std::sync::OnceLock<regex::RegexSet> = std::sync::OnceLock::new();
    PATTERNS
        .get_or_init(|| {
            regex::RegexSet::new(RESOLVERS).expect("PyYAML's resolver patterns compile")
        })
        .is_match(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(value: &str) -> Hash {
        let mut map = Hash::new();
        map.insert(Yaml::String("k".into()), Yaml::String(value.into()));
        map
    }

    #[test]
    fn strings_with_line_breaks_and_control_characters_read_back_whole() {
        for value in [
            "new\nline",
            "tab\there",
            "nul\0",
            "esc\u{1b}",
            "\u{85}",
            "a\u{2028}b",
            "bell\u{7}\"q\"\\",
            "0o17",
            "---",
            "~",
            "foo #bar",
            "é",
        ] {
            let text = dump(&one(value));
            assert_eq!(load(&text), Ok(one(value)), "{text}");
        }
        // As PyYAML writes them.
        assert_eq!(dump(&one("tab\there")), "k: \"tab\\there\"\n");
        assert_eq!(dump(&one("a\u{1}\"")), "k: \"a\\x01\\\"\"\n");
        assert_eq!(dump(&one("yes")), "k: 'yes'\n");
    }

    #[test]
    fn nesting_deeper_than_any_toolkit_file_is_refused_before_it_is_built() {
        let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        assert!(load(&format!("a: {}", nested(MAX_DEPTH - 1))).is_ok());
        assert_eq!(
            load(&format!("a: {}", nested(MAX_DEPTH))),
            Err(Refused::TooDeep)
        );
        let mappings = format!("{}{}", "{a: ".repeat(40), "}".repeat(40));
        assert_eq!(load(&mappings), Err(Refused::TooDeep));
        // Block lists nest without a limit of the parser's own: the one that crashed the app.
        assert_eq!(load(&"- ".repeat(100_000)), Err(Refused::TooDeep));
    }
}
