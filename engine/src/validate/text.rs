//! Recognising simple shapes of expressions (`major`, `!major`, `review.outcome ==
//! 'approved'`) and the identifiers an expression reads.
//!
//! Shapes are recognised on the text with whitespace outside string literals removed and
//! redundant outer parentheses stripped. Anything else is "not recognised", which every
//! caller treats conservatively.

use std::collections::BTreeSet;

use cel::common::ast::{EntryExpr, Expr as Ast};

use crate::model::Expr;

/// The expression's text with whitespace outside string literals removed and redundant
/// outer parentheses stripped: `( major )` and `major` are the same condition.
pub(crate) fn canonical(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in source.chars() {
        match quote {
            Some(q) => {
                out.push(c);
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None if c.is_whitespace() => {}
            None => {
                if c == '\'' || c == '"' {
                    quote = Some(c);
                }
                out.push(c);
            }
        }
    }
    let mut s = out.as_str();
    while let Some(inner) = strip_parens(s) {
        s = inner;
    }
    s.to_owned()
}

/// `(X)` -> `X` when the first parenthesis closes at the last character.
fn strip_parens(s: &str) -> Option<&str> {
    let inner = s.strip_prefix('(')?.strip_suffix(')')?;
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in inner.chars() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '\'' | '"' => quote = Some(c),
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth < 0 {
                        return None;
                    }
                }
                _ => {}
            },
        }
    }
    (depth == 0 && quote.is_none()).then_some(inner)
}

/// A name or a member access on one (`major`, `review.outcome`): `!` applies to all of it.
fn is_atom(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

/// If the canonical condition `c` is `!X` or `!(X)`, the canonical `X`.
pub(crate) fn negated(c: &str) -> Option<String> {
    let rest = c.strip_prefix('!')?;
    if let Some(inner) = strip_parens(rest) {
        return Some(canonical(inner));
    }
    is_atom(rest).then(|| rest.to_owned())
}

/// A test of a node's outcome: `review.outcome == 'approved'` (either quote style, either
/// side, `==` or `!=`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OutcomeTest {
    /// The node whose outcome is tested.
    pub node: String,
    /// The outcome it is compared with.
    pub outcome: String,
    /// `==` (true) or `!=` (false).
    pub equal: bool,
}

/// Recognises an outcome test in a canonical condition.
pub(crate) fn outcome_test(c: &str) -> Option<OutcomeTest> {
    let (at, equal) = operator(c)?;
    let (lhs, rhs) = (&c[..at], &c[at + 2..]);
    let (node, outcome) = match (outcome_of(lhs), literal(rhs)) {
        (Some(node), Some(lit)) => (node, lit),
        _ => (outcome_of(rhs)?, literal(lhs)?),
    };
    Some(OutcomeTest { node: node.to_owned(), outcome: outcome.to_owned(), equal })
}

/// The byte offset of the first `==` or `!=` outside string literals.
fn operator(c: &str) -> Option<(usize, bool)> {
    let bytes = c.as_bytes();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i + 1 < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(_) if b == b'\\' => i += 1,
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'\'' || b == b'"' => quote = Some(b),
            None if bytes[i + 1] == b'=' && (b == b'=' || b == b'!') => return Some((i, b == b'=')),
            None => {}
        }
        i += 1;
    }
    None
}

/// `NODE.outcome` -> `NODE`.
fn outcome_of(s: &str) -> Option<&str> {
    let node = s.strip_suffix(".outcome")?;
    let mut chars = node.chars();
    let first = chars.next()?;
    ((first.is_ascii_alphabetic() || first == '_') && chars.all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then_some(node)
}

/// `'text'` or `"text"` without escapes or inner quotes -> `text`.
fn literal(s: &str) -> Option<&str> {
    let q = s.chars().next().filter(|&c| c == '\'' || c == '"')?;
    let inner = s.strip_prefix(q)?.strip_suffix(q)?;
    (!inner.contains(q) && !inner.contains('\\')).then_some(inner)
}

/// The identifiers an expression reads from the case: free identifiers, without the
/// variables that comprehension macros (`all`, `exists`, `map`, ...) bind. `None` when the
/// expression did not compile (already reported).
pub(crate) fn free_identifiers(expr: &Expr) -> Option<BTreeSet<String>> {
    let program = expr.program.as_ref()?;
    let mut found = BTreeSet::new();
    let mut bound = Vec::new();
    walk(&program.expression().expr, &mut bound, &mut found);
    Some(found)
}

fn walk(e: &Ast, bound: &mut Vec<String>, found: &mut BTreeSet<String>) {
    match e {
        Ast::Unspecified | Ast::Literal(_) => {}
        Ast::Ident(name) => {
            if !bound.iter().any(|b| b == name) {
                found.insert(name.clone());
            }
        }
        Ast::Call(call) => {
            if let Some(target) = &call.target {
                walk(&target.expr, bound, found);
            }
            for arg in &call.args {
                walk(&arg.expr, bound, found);
            }
        }
        Ast::Select(select) => walk(&select.operand.expr, bound, found),
        Ast::List(list) => {
            for item in &list.elements {
                walk(&item.expr, bound, found);
            }
        }
        Ast::Map(map) => {
            for entry in &map.entries {
                walk_entry(&entry.expr, bound, found);
            }
        }
        Ast::Struct(s) => {
            for entry in &s.entries {
                walk_entry(&entry.expr, bound, found);
            }
        }
        Ast::Comprehension(c) => {
            walk(&c.iter_range.expr, bound, found);
            walk(&c.accu_init.expr, bound, found);
            let depth = bound.len();
            bound.push(c.iter_var.clone());
            bound.extend(c.iter_var2.iter().cloned());
            bound.push(c.accu_var.clone());
            walk(&c.loop_cond.expr, bound, found);
            walk(&c.loop_step.expr, bound, found);
            walk(&c.result.expr, bound, found);
            bound.truncate(depth);
        }
    }
}

fn walk_entry(e: &EntryExpr, bound: &mut Vec<String>, found: &mut BTreeSet<String>) {
    match e {
        EntryExpr::StructField(f) => walk(&f.value.expr, bound, found),
        EntryExpr::MapEntry(m) => {
            walk(&m.key.expr, bound, found);
            walk(&m.value.expr, bound, found);
        }
    }
}

/// The candidate closest to `name` by edit distance, if it is close enough to be a typo.
pub(crate) fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).clamp(1, 3);
    candidates
        .into_iter()
        .map(|c| (distance(name, c), c))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, c)| (d, c))
        .map(|(_, c)| c)
}

/// Levenshtein distance, for suggestions.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == cb { prev } else { 1 + prev.min(cur).min(row[j]) };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_strips_space_and_parentheses() {
        assert_eq!(canonical(" ( major ) "), "major");
        assert_eq!(canonical("(a) || (b)"), "(a)||(b)");
        assert_eq!(canonical("x == 'a b'"), "x=='a b'");
        assert_eq!(canonical("((a && b))"), "a&&b");
    }

    #[test]
    fn negations() {
        assert_eq!(negated("!major").as_deref(), Some("major"));
        assert_eq!(negated(&canonical("!( a || b )")).as_deref(), Some("a||b"));
        assert_eq!(negated("!a==b"), None);
        assert_eq!(negated("!(a)||(b)"), None);
        assert_eq!(negated("major"), None);
    }

    #[test]
    fn outcome_tests() {
        let t = outcome_test(&canonical("review.outcome == \"approved\"")).unwrap();
        assert_eq!((t.node.as_str(), t.outcome.as_str(), t.equal), ("review", "approved", true));
        let t = outcome_test(&canonical("'x' != a.outcome")).unwrap();
        assert_eq!((t.node.as_str(), t.outcome.as_str(), t.equal), ("a", "x", false));
        assert_eq!(outcome_test("a.outcome=='x'||b"), None);
        assert_eq!(outcome_test("a.outcome=='x'&&b.outcome=='y'"), None);
        assert_eq!(outcome_test("a.b.outcome=='x'"), None);
    }

    #[test]
    fn free_identifiers_skip_comprehension_variables() {
        let (e, _) = Expr::compile("items.all(x, x > limit) && has(a.b)", Default::default());
        let ids: Vec<_> = free_identifiers(&e).unwrap().into_iter().collect();
        assert_eq!(ids, ["a", "items", "limit"]);
    }

    #[test]
    fn suggestions() {
        assert_eq!(suggest("fine_amout", ["fine_amount", "major"]), Some("fine_amount"));
        assert_eq!(suggest("zzz", ["fine_amount", "major"]), None);
    }
}
