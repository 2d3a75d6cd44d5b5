//! The flow model: what a YAML flow definition is parsed into, and what the validator and
//! the core read. Plain data; every item keeps the [`Loc`] it was written at.

mod expr;
mod flow;
mod loc;
mod node;
mod timer;

pub use expr::Expr;
pub use flow::{Flow, Rule, VarType, VariableDecl};
pub use loc::Loc;
pub use node::*;
pub use timer::{Timer, TimerSpec};
