//! Expressions (conditions, rules, guards) in CEL, compiled once when a flow is loaded.
//!
//! Identifiers in an expression name, in this order: a rule of the flow, a node of the flow
//! (whose value is `{ outcome: "..." }` once it has completed), or a variable. The validator
//! rejects any other identifier.

use std::fmt;
use std::sync::Arc;

use super::Loc;

/// A compiled expression with its source text and where it was written.
#[derive(Clone)]
pub struct Expr {
    /// The expression as written.
    pub source: String,
    /// Where it was written.
    pub loc: Loc,
    /// The compiled program; `None` when it did not compile (a problem was reported).
    pub program: Option<Arc<cel::Program>>,
    /// Identifiers it references, sorted, without duplicates.
    pub references: Vec<String>,
}

impl Expr {
    /// Compiles `source`. On failure returns the expression without a program and a
    /// message saying why (it does not compile, or it is too large to compile safely).
    pub fn compile(source: &str, loc: Loc) -> (Expr, Option<String>) {
        if let Some(why) = too_complex(source) {
            let expr = Expr { source: source.to_owned(), loc, program: None, references: Vec::new() };
            return (expr, Some(why));
        }
        match cel::Program::compile(source) {
            Ok(program) => {
                let mut references: Vec<String> =
                    program.references().variables().into_iter().map(str::to_owned).collect();
                references.sort();
                references.dedup();
                let expr = Expr { source: source.to_owned(), loc, program: Some(Arc::new(program)), references };
                (expr, None)
            }
            Err(errors) => {
                let message =
                    errors.errors.first().map(|e| e.msg.clone()).unwrap_or_else(|| "does not compile".to_owned());
                let expr = Expr { source: source.to_owned(), loc, program: None, references: Vec::new() };
                (expr, Some(message))
            }
        }
    }

    /// The source with whitespace removed, for recognising simple shapes such as `!major`.
    pub fn normalized(&self) -> String {
        self.source.chars().filter(|c| !c.is_whitespace()).collect()
    }
}

/// The longest expression accepted; longer conditions belong in several rules.
const MAX_EXPRESSION_LEN: usize = 1000;
/// The deepest nesting of brackets accepted. The CEL parser recurses with large frames per
/// level (about 180 KiB each in a debug build), so deeply nested text would overflow a
/// thread's stack (2 MiB for test and async worker threads) instead of being reported.
/// Real conditions nest two or three levels. With these limits the worst expression
/// compiles in a 2 MiB stack in a debug build with room to spare (measured).
const MAX_EXPRESSION_DEPTH: usize = 8;
/// The most `a ? b : c` conditionals accepted; each nests the parser once more.
const MAX_EXPRESSION_CONDITIONALS: usize = 16;

/// Why an expression is refused before it reaches the parser, if it is.
fn too_complex(source: &str) -> Option<String> {
    if source.len() > MAX_EXPRESSION_LEN {
        Some(format!("is longer than {MAX_EXPRESSION_LEN} characters; split it into rules"))
    } else if bracket_depth(source) > MAX_EXPRESSION_DEPTH {
        Some(format!("nests brackets more than {MAX_EXPRESSION_DEPTH} deep; split it into rules"))
    } else if source.matches('?').count() > MAX_EXPRESSION_CONDITIONALS {
        Some(format!("has more than {MAX_EXPRESSION_CONDITIONALS} `? :` conditionals; split it into rules"))
    } else {
        None
    }
}

/// The deepest nesting of `(`, `[` and `{`. Brackets inside string literals count too:
/// an overestimate is safe, and reading literals exactly (raw, triple-quoted, escapes)
/// would be a second CEL lexer.
fn bracket_depth(source: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    for c in source.chars() {
        match c {
            '(' | '[' | '{' => {
                depth += 1;
                max = max.max(depth);
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

impl fmt::Debug for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Expr").field("source", &self.source).field("loc", &self.loc).finish()
    }
}

impl PartialEq for Expr {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}
