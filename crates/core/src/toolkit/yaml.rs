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
}

/// Reads a document; anything that is not a mapping (or does not parse) reads as empty, as
/// tk-core does with a corrupt file. A document with anchors or aliases is refused.
pub fn load(text: &str) -> Result<Hash, Refused> {
    use yaml_rust2::parser::{Event, Parser};
    // Looked at as events first: the loader would expand every alias before we saw it.
    let mut parser = Parser::new_from_str(text);
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

/// A string plain when PyYAML would leave it plain, else single-quoted.
fn string(s: &str) -> String {
    if needs_quotes(s) {
        format!("'{}'", s.replace('\'', "''"))
    } else {
        s.to_owned()
    }
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
        || s.chars().any(char::is_control)
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
