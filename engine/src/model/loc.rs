//! Source locations carried by the model so that every problem names a YAML line and column.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A 1-based line and column in a flow's YAML source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Loc {
    /// Line, counted from 1.
    pub line: u32,
    /// Column, counted from 1.
    pub col: u32,
}

impl Loc {
    /// A location; 0 means unknown.
    pub const fn new(line: u32, col: u32) -> Self {
        Loc { line, col }
    }
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}
