//! A YAML document as a tree of nodes that remember their line and column, with
//! `${VAR}` / `${VAR:-default}` interpolation applied to string values after parsing.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle};

use crate::error::{Diagnostics, Mark};

/// A YAML value with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub mark: Mark,
}

/// A YAML value (core schema: null, bool, int, float, string, sequence, mapping).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    Seq(Vec<Node>),
    /// Keys are kept in file order with their own positions.
    Map(Vec<(String, Mark, Node)>),
}

impl Node {
    pub fn kind(&self) -> &'static str {
        match &self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::String(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The entries, when this node is a mapping.
    pub fn entries(&self) -> Option<&[(String, Mark, Node)]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// Converts to JSON for typed deserialization.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::String(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|(k, _, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// Records the position of this node and of every node below it, keyed by the
    /// dotted path that `serde_path_to_error` prints (`a.b[0].c`).
    pub fn collect_marks(&self, prefix: &str, out: &mut HashMap<String, Mark>) {
        out.insert(prefix.to_string(), self.mark);
        match &self.value {
            Value::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    item.collect_marks(&format!("{prefix}[{i}]"), out);
                }
            }
            Value::Map(entries) => {
                for (k, km, v) in entries {
                    let path = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    v.collect_marks(&path, out);
                    // A key's own position is more useful than its value's for "unknown key".
                    out.insert(format!("{path}#key"), *km);
                }
            }
            _ => {}
        }
    }
}

fn mark_of(m: &saphyr_parser::Marker) -> Mark {
    Mark {
        line: m.line(),
        column: m.col() + 1,
    }
}

/// Resolves a plain scalar by the YAML 1.2 core schema.
fn resolve_plain(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Ok(i) = s.parse::<i64>() {
        return Value::Int(i);
    }
    if let Some(hex) = s.strip_prefix("0x")
        && let Ok(i) = i64::from_str_radix(hex, 16)
    {
        return Value::Int(i);
    }
    let looks_numeric = s
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
        && s.chars().any(|c| c.is_ascii_digit());
    if looks_numeric && let Ok(f) = s.parse::<f64>() {
        return Value::Float(f);
    }
    match s {
        ".inf" | ".Inf" | ".INF" | "+.inf" => Value::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => Value::Float(f64::NAN),
        _ => Value::String(s.to_string()),
    }
}

/// Where the parser is while building the tree.
enum Frame {
    Seq(Mark, Vec<Node>, usize),
    Map(
        Mark,
        Vec<(String, Mark, Node)>,
        Option<(String, Mark)>,
        usize,
    ),
}

/// Parses one YAML document into a [`Node`]. Problems go into `diags`; `None` when the
/// text is not YAML at all.
pub fn parse(text: &str, diags: &mut Diagnostics) -> Option<Node> {
    parse_with_env(text, diags, &|name| {
        crate::Variables::Environment.lookup(name)
    })
}

/// [`parse`] with a custom variable lookup (a server's [`crate::Variables`], tests): it
/// returns the value, `None` when unset, or an error saying why the job may not read it.
pub fn parse_with_env(
    text: &str,
    diags: &mut Diagnostics,
    lookup: &dyn Fn(&str) -> Lookup,
) -> Option<Node> {
    let mut stack: Vec<Frame> = Vec::new();
    // Each anchor's node and its weight (see [`weight`]).
    let mut anchors: HashMap<usize, (Node, usize)> = HashMap::new();
    let mut expanded = 0usize;
    let mut root: Option<Node> = None;
    for event in Parser::new_from_str(text) {
        let (event, span) = match event {
            Ok(e) => e,
            Err(e) => {
                diags.push(
                    Some(mark_of(e.marker())),
                    "",
                    format!("malformed YAML: {}", e.info()),
                );
                return None;
            }
        };
        let mark = mark_of(&span.start);
        let complete: Option<(Node, usize)> = match event {
            Event::Scalar(s, style, anchor, _tag) => {
                let value = if style == ScalarStyle::Plain {
                    resolve_plain(&s)
                } else {
                    Value::String(s.into_owned())
                };
                Some((
                    interpolate_node(Node { value, mark }, style, diags, lookup),
                    anchor,
                ))
            }
            Event::Alias(id) => match anchors.get(&id) {
                Some((n, w)) => {
                    expanded = expanded.saturating_add(*w);
                    if expanded > MAX_EXPANDED {
                        diags.push(
                            Some(mark),
                            "",
                            format!(
                                "aliases (`*name`) expand this document beyond {MAX_EXPANDED} values \
                                 and characters; a job file never needs that many (is it an alias bomb?)"
                            ),
                        );
                        return None;
                    }
                    Some((n.clone(), 0))
                }
                None => {
                    diags.push(Some(mark), "", "alias refers to an unknown anchor");
                    Some((
                        Node {
                            value: Value::Null,
                            mark,
                        },
                        0,
                    ))
                }
            },
            Event::SequenceStart(anchor, _) => {
                stack.push(Frame::Seq(mark, Vec::new(), anchor));
                None
            }
            Event::MappingStart(anchor, _) => {
                stack.push(Frame::Map(mark, Vec::new(), None, anchor));
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq(m, items, anchor)) => Some((
                    Node {
                        value: Value::Seq(items),
                        mark: m,
                    },
                    anchor,
                )),
                _ => None,
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map(m, entries, _, anchor)) => Some((
                    Node {
                        value: Value::Map(entries),
                        mark: m,
                    },
                    anchor,
                )),
                _ => None,
            },
            Event::DocumentStart(_) => {
                if root.is_some() {
                    diags.push(
                        Some(mark),
                        "",
                        "a job file holds one YAML document; found a second `---`",
                    );
                    return root;
                }
                None
            }
            _ => None,
        };
        let Some((node, anchor)) = complete else {
            continue;
        };
        if anchor != 0 {
            let w = weight(&node);
            anchors.insert(anchor, (node.clone(), w));
        }
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame::Seq(_, items, _)) => items.push(node),
            Some(Frame::Map(_, entries, pending, _)) => match pending.take() {
                None => {
                    let key = match &node.value {
                        Value::String(s) => s.clone(),
                        Value::Int(i) => i.to_string(),
                        Value::Bool(b) => b.to_string(),
                        Value::Float(f) => f.to_string(),
                        Value::Null => "null".to_string(),
                        _ => {
                            diags.push(Some(node.mark), "", "a mapping key must be a plain value");
                            String::new()
                        }
                    };
                    if entries.iter().any(|(k, _, _)| *k == key) {
                        diags.push(Some(node.mark), key.clone(), "duplicate key");
                    }
                    *pending = Some((key, node.mark));
                }
                Some((key, key_mark)) => entries.push((key, key_mark, node)),
            },
        }
    }
    root
}

/// The most values plus text characters that aliases may add to one document: a few
/// hundred bytes of anchors and aliases can otherwise expand to gigabytes (the "billion
/// laughs"). Generous for any real job file.
pub const MAX_EXPANDED: usize = 1_000_000;

/// A node's size for [`MAX_EXPANDED`]: one per value, plus the length of its text.
fn weight(node: &Node) -> usize {
    match &node.value {
        Value::String(s) => 1 + s.len(),
        Value::Seq(items) => items
            .iter()
            .fold(1usize, |a, n| a.saturating_add(weight(n))),
        Value::Map(entries) => entries
            .iter()
            .fold(1usize, |a, (k, _, n)| a.saturating_add(k.len() + weight(n))),
        _ => 1,
    }
}

/// Applies `${VAR}` / `${VAR:-default}` to a string scalar. A plain scalar that was
/// entirely one reference is re-typed (so `batch_size: ${N}` is an integer), but a value
/// can never become a list or a mapping.
fn interpolate_node(
    node: Node,
    style: ScalarStyle,
    diags: &mut Diagnostics,
    lookup: &dyn Fn(&str) -> Lookup,
) -> Node {
    let Value::String(s) = &node.value else {
        return node;
    };
    if !s.contains('$') {
        return node;
    }
    match interpolate(s, lookup) {
        Ok(out) => {
            let value = if style == ScalarStyle::Plain {
                match resolve_plain(&out) {
                    v @ (Value::Int(_) | Value::Float(_) | Value::Bool(_)) => v,
                    _ => Value::String(out),
                }
            } else {
                Value::String(out)
            };
            Node { value, ..node }
        }
        Err(msg) => {
            diags.push(Some(node.mark), "", msg);
            node
        }
    }
}

/// What a variable lookup found: the value, `None` when unset, or why it may not be read.
pub type Lookup = Result<Option<String>, String>;

/// Replaces `${VAR}`, `${VAR:-default}` and `${secret:NAME}`; `$$` is a literal `$`. An
/// unset variable without a default is an error naming it, and so is one the lookup
/// refuses (even with a default: a refused read is a mistake to fix, not to paper over).
pub fn interpolate(s: &str, lookup: impl Fn(&str) -> Lookup) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body
                .find('}')
                .ok_or_else(|| format!("unterminated `${{` in {s:?}"))?;
            let expr = &body[..end];
            let (name, default) = match expr.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (expr, None),
            };
            let bare = name
                .strip_prefix(crate::variables::SECRET_PREFIX)
                .unwrap_or(name);
            if bare.is_empty() || !bare.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!(
                    "`${{{expr}}}` is not a valid variable reference (expected ${{NAME}}, ${{NAME:-default}} or ${{secret:NAME}})"
                ));
            }
            match (lookup(name)?, default) {
                (Some(v), _) if !v.is_empty() || default.is_none() => out.push_str(&v),
                (_, Some(d)) => out.push_str(d),
                (None, None) => {
                    return Err(format!(
                        "environment variable `{name}` is not set (use ${{{name}:-default}} to give a default)"
                    ));
                }
                (Some(v), None) => out.push_str(&v),
            }
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> Node {
        let mut d = Diagnostics::new("t.yaml");
        let n = parse(text, &mut d).expect("parses");
        assert!(d.is_empty(), "{d}");
        n
    }

    #[test]
    fn marks_are_one_based() {
        let n = parse_ok("a: 1\nb:\n  c: x\n");
        let entries = n.entries().expect("map");
        assert_eq!(entries[1].1, Mark { line: 2, column: 1 });
        let inner = entries[1].2.entries().expect("map");
        assert_eq!(inner[0].1, Mark { line: 3, column: 3 });
        assert_eq!(inner[0].2.mark, Mark { line: 3, column: 6 });
    }

    #[test]
    fn scalars_resolve_by_core_schema() {
        let n = parse_ok("a: 1\nb: 1.5\nc: true\nd: ~\ne: '1'\nf: hello\n");
        let j = n.to_json();
        assert_eq!(
            j,
            serde_json::json!({"a": 1, "b": 1.5, "c": true, "d": null, "e": "1", "f": "hello"})
        );
    }

    #[test]
    fn an_alias_bomb_is_refused_quickly() {
        // Nine levels of ten aliases each: 10^9 values if expanded.
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        assert!(text.len() < 1000);
        let started = std::time::Instant::now();
        let mut d = Diagnostics::new("t.yaml");
        assert!(parse(&text, &mut d).is_none());
        assert!(d.to_string().contains("alias bomb"), "{d}");
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        // Ordinary reuse is fine.
        let mut d = Diagnostics::new("t.yaml");
        let n = parse("base: &b {type: csv, path: x.csv}\ninput: *b\n", &mut d).expect("parses");
        assert!(d.is_empty(), "{d}");
        assert_eq!(n.to_json()["input"]["path"], "x.csv");
    }

    #[test]
    fn interpolation_with_defaults_and_escapes() {
        let env = |n: &str| Ok((n == "SET").then(|| "v".to_string()));
        assert_eq!(interpolate("x${SET}y", env).as_deref(), Ok("xvy"));
        assert_eq!(interpolate("${UNSET:-d}", env).as_deref(), Ok("d"));
        assert_eq!(interpolate("$$HOME", env).as_deref(), Ok("$HOME"));
        assert!(interpolate("${UNSET}", env).unwrap_err().contains("UNSET"));
        assert!(interpolate("${bad name}", env).is_err());
        // A refused read is an error even with a default.
        let deny = |n: &str| Err(format!("no {n}"));
        assert_eq!(interpolate("${X:-d}", deny), Err("no X".to_string()));
        assert_eq!(
            interpolate("${secret:db}", deny),
            Err("no secret:db".to_string())
        );
    }

    #[test]
    fn interpolated_value_cannot_inject_structure() {
        let env = |_: &str| Ok(Some("{b: 1, c: [2]}\nd: 3".to_string()));
        let mut d = Diagnostics::new("t.yaml");
        let n = parse_with_env("a: ${X}\nn: ${N}\n", &mut d, &env).expect("parses");
        assert!(d.is_empty(), "{d}");
        assert_eq!(
            n.to_json(),
            serde_json::json!({"a": "{b: 1, c: [2]}\nd: 3", "n": "{b: 1, c: [2]}\nd: 3"})
        );
        let num = |_: &str| Ok(Some("42".to_string()));
        let n = parse_with_env("a: ${X}\nb: '${X}'\n", &mut d, &num).expect("parses");
        assert_eq!(n.to_json(), serde_json::json!({"a": 42, "b": "42"}));
    }

    #[test]
    fn malformed_yaml_names_the_line() {
        let mut d = Diagnostics::new("bad.yaml");
        assert!(parse("a: [1, 2\nb: 3\n", &mut d).is_none());
        let msg = d.to_string();
        assert!(msg.contains("bad.yaml:"), "{msg}");
        assert!(msg.contains("malformed YAML"), "{msg}");
    }

    #[test]
    fn duplicate_keys_are_reported() {
        let mut d = Diagnostics::new("t.yaml");
        parse("a: 1\na: 2\n", &mut d);
        assert!(d.to_string().contains("duplicate key"), "{d}");
    }
}
