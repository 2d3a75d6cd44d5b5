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
    /// Compiles `source`. On failure returns the expression without a program and the
    /// compiler's message.
    pub fn compile(source: &str, loc: Loc) -> (Expr, Option<String>) {
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
