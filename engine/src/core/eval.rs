//! Evaluating expressions against a case: identifiers resolve to rules (evaluated in
//! turn), node outcomes (`legal_review.outcome`) and variables, in that order.

use std::sync::{Arc, OnceLock};

use cel::objects::{Key, Map};
use cel::{Context, Value};

use super::state::CaseState;
use crate::model::{Expr, Flow};

/// Why an expression could not be evaluated; becomes an incident at the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalError(pub String);

fn env() -> Arc<cel::Env> {
    static ENV: OnceLock<Arc<cel::Env>> = OnceLock::new();
    ENV.get_or_init(|| Arc::new(cel::Env::stdlib())).clone()
}

/// Evaluates `expr` as a condition.
///
/// # Errors
/// When it does not compile, fails, or is not a boolean.
pub fn condition(flow: &Flow, case: &CaseState, expr: &Expr) -> Result<bool, EvalError> {
    match value(flow, case, expr, 0)? {
        Value::Bool(b) => Ok(b),
        other => Err(EvalError(format!("`{}` gave {:?}, not true or false", expr.source, other.type_of()))),
    }
}

fn value(flow: &Flow, case: &CaseState, expr: &Expr, depth: u32) -> Result<Value, EvalError> {
    let program = expr.program.as_ref().ok_or_else(|| EvalError(format!("`{}` did not compile", expr.source)))?;
    if depth > 16 {
        return Err(EvalError(format!("rules nest too deeply at `{}`", expr.source)));
    }
    let mut ctx = Context::with_env(env());
    for name in &expr.references {
        let bound = if let Some(rule) = flow.rule(name) {
            value(flow, case, &rule.expr, depth + 1)?
        } else if flow.node_index.contains_key(name) {
            let outcome = case.outcomes.get(name).map(json_to_cel).unwrap_or(Value::Null);
            let mut map = std::collections::HashMap::new();
            map.insert(Key::from("outcome"), outcome);
            Value::Map(Map { map: Arc::new(map) })
        } else {
            let declared_number = flow.variable(name).is_some_and(|v| v.ty == crate::model::VarType::Number);
            match case.variables.get(name) {
                // A `number` variable is always a double, so `fine >= 50000.0` works whether
                // the value was written as 60000 or 60000.5.
                Some(serde_json::Value::Number(n)) if declared_number => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
                Some(v) => json_to_cel(v),
                None => Value::Null,
            }
        };
        ctx.add_variable_from_value(name.as_str(), bound);
    }
    program.execute(&ctx).map_err(|e| EvalError(format!("`{}` failed: {e}", expr.source)))
}

/// Converts a JSON value into a CEL value; integers stay integers, other numbers are
/// doubles.
pub fn json_to_cel(v: &serde_json::Value) -> Value {
    use serde_json::Value as J;
    match v {
        J::Null => Value::Null,
        J::Bool(b) => Value::Bool(*b),
        J::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Value::Int(i),
            (None, Some(u)) => Value::UInt(u),
            _ => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        J::String(s) => Value::String(Arc::new(s.clone())),
        J::Array(items) => Value::List(Arc::new(items.iter().map(json_to_cel).collect())),
        J::Object(map) => {
            let map = map.iter().map(|(k, v)| (Key::from(k.as_str()), json_to_cel(v))).collect();
            Value::Map(Map { map: Arc::new(map) })
        }
    }
}
