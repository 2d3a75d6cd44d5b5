//! Evaluating expressions against a case: identifiers resolve to rules (evaluated in
//! turn), node outcomes (`legal_review.outcome`) and variables, in that order.

use std::sync::{Arc, OnceLock};

use cel::common::value::{CowVal, Val};
use cel::context::VariableResolver;
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
    let scope = CaseScope { flow, case };
    let mut ctx = Context::with_env(env());
    // Rules are evaluated first, so that an error inside one is reported as such; node
    // outcomes and variables are looked up on demand by the resolver, without copying
    // them into the context.
    for name in &expr.references {
        if let Some(rule) = flow.rule(name) {
            ctx.add_variable_from_value(name.as_str(), value(flow, case, &rule.expr, depth + 1)?);
        }
    }
    ctx.set_variable_resolver(&scope);
    program.execute(&ctx).map_err(|e| EvalError(format!("`{}` failed: {e}", expr.source)))
}

/// Resolves identifiers to a case's node outcomes and variables.
struct CaseScope<'c> {
    flow: &'c Flow,
    case: &'c CaseState,
}

impl CaseScope<'_> {
    fn lookup(&self, name: &str) -> Option<Value> {
        if self.flow.rule(name).is_some() {
            return None; // bound in the context
        }
        if self.flow.node_index.contains_key(name) {
            let outcome = self.case.outcomes.get(name).map(json_to_cel).unwrap_or(Value::Null);
            let mut map = std::collections::HashMap::with_capacity(1);
            map.insert(Key::from("outcome"), outcome);
            return Some(Value::Map(Map { map: Arc::new(map) }));
        }
        // Only declared variables resolve: anything else (including the dotted names CEL
        // tries first for `node.outcome`) is left to the next candidate or reported.
        let declared_number = self.flow.variable(name)?.ty == crate::model::VarType::Number;
        Some(match self.case.variables.get(name) {
            // A `number` variable is always a double, so `fine >= 50000.0` works whether the
            // value was written as 60000 or 60000.5.
            Some(serde_json::Value::Number(n)) if declared_number => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            Some(v) => json_to_cel(v),
            None => Value::Null,
        })
    }
}

impl VariableResolver for CaseScope<'_> {
    fn resolve<'b>(&'b self, variable: &str) -> Option<CowVal<'b, 'b>> {
        let value: Box<dyn Val> = self.lookup(variable)?.try_into().ok()?;
        Some(CowVal::Owned(value))
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Loc;

    fn flow() -> Flow {
        let yaml = r#"
id: eval
variables:
  fine: { type: number, default: 0 }
  n: { type: integer, default: 0 }
  s: { type: string, default: "" }
rules:
  major: "fine >= 50000.0"
start: e
nodes:
  e: { type: end }
"#;
        crate::dsl::parse(yaml).flow.expect("flow")
    }

    fn eval(source: &str, vars: serde_json::Value) -> Result<bool, EvalError> {
        let flow = flow();
        let mut case = CaseState::new();
        case.variables = vars.as_object().cloned().unwrap_or_default().into_iter().collect();
        let (expr, error) = Expr::compile(source, Loc::new(1, 1));
        assert!(error.is_none(), "{error:?}");
        condition(&flow, &case, &expr)
    }

    #[test]
    fn number_variables_compare_as_doubles_whatever_was_written() {
        assert_eq!(eval("major", serde_json::json!({ "fine": 60000 })), Ok(true));
        assert_eq!(eval("major", serde_json::json!({ "fine": 49999.5 })), Ok(false));
        assert_eq!(eval("n + 1 == 2", serde_json::json!({ "n": 1 })), Ok(true));
    }

    #[test]
    fn failures_are_errors_not_panics() {
        for source in [
            "9223372036854775807 + n > 0",
            "n % 0 == 1",
            "s.missing == 1",
            "size(n) > 0",
            "s",
            "-9223372036854775807 - 2 < n",
        ] {
            assert!(eval(source, serde_json::json!({ "n": 1, "s": "x" })).is_err(), "{source}");
        }
        assert!(eval("1 / n > 0", serde_json::json!({ "n": 0 })).is_err());
    }
}
