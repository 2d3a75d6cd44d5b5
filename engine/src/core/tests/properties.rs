//! Property tests over generated flows and random event orders.
//!
//! Flows are generated as structured blocks (tasks, timers, messages, jobs, exclusive,
//! parallel and inclusive blocks, nesting), rendered to YAML and parsed, so the properties
//! also exercise the reader. Each run then applies a random sequence of enabled commands.

use proptest::prelude::*;
use serde_json::json;

use super::fixtures::*;
use crate::core::*;

#[derive(Debug, Clone)]
enum Block {
    Task,
    Multi(u32, &'static str),
    Timer,
    Message(u8),
    Job,
    Xor(Box<Block>, Box<Block>),
    And(Box<Block>, Box<Block>),
    Or(Box<Block>, Box<Block>),
    Seq(Vec<Block>),
}

fn block() -> impl Strategy<Value = Block> {
    let leaf = prop_oneof![
        3 => Just(Block::Task),
        1 => (1u32..4, prop_oneof![Just("all"), Just("any"), Just("majority")]).prop_map(|(n, c)| Block::Multi(n, c)),
        1 => Just(Block::Timer),
        1 => (0u8..2).prop_map(Block::Message),
        1 => Just(Block::Job),
    ];
    leaf.prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Block::Xor(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Block::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Block::Or(Box::new(a), Box::new(b))),
            prop::collection::vec(inner, 1..4).prop_map(Block::Seq),
        ]
    })
}

struct Render {
    nodes: Vec<String>,
    n: usize,
}

impl Render {
    fn id(&mut self, prefix: &str) -> String {
        self.n += 1;
        format!("{prefix}{}", self.n)
    }

    /// Renders `b` so that it continues at `next`; returns its entry node.
    fn emit(&mut self, blk: &Block, next: &str) -> String {
        match blk {
            Block::Task => {
                let id = self.id("t");
                self.nodes.push(format!("  {id}: {{ type: user_task, form: [v], next: {next} }}"));
                id
            }
            Block::Multi(count, completion) => {
                let id = self.id("m");
                self.nodes.push(format!(
                    "  {id}: {{ type: user_task, form: [v], outcomes: [yes, no], multi: {{ count: {count}, distinct_assignees: true, completion: {completion} }}, next: {next} }}"
                ));
                id
            }
            Block::Timer => {
                let id = self.id("w");
                self.nodes.push(format!("  {id}: {{ type: timer, timer: PT1H, next: {next} }}"));
                id
            }
            Block::Message(m) => {
                let id = self.id("msg");
                self.nodes.push(format!("  {id}: {{ type: message, message: m{m}, next: {next} }}"));
                id
            }
            Block::Job => {
                let id = self.id("j");
                self.nodes.push(format!(
                    "  {id}: {{ type: service_task, job: work, retries: 1, backoff: {{ initial: PT1S }}, next: {next} }}"
                ));
                id
            }
            Block::Xor(a, b) => {
                // Branches meet at an exclusive merge, so an enclosing parallel join counts
                // one incoming flow for the whole block.
                let (id, merge) = (self.id("x"), self.id("xm"));
                self.nodes.push(format!("  {merge}: {{ type: exclusive, next: {next} }}"));
                let (a, b) = (self.emit(a, &merge), self.emit(b, &merge));
                self.nodes.push(format!(
                    "  {id}: {{ type: exclusive, branches: [ {{ when: \"v % 2 == 0\", next: {a} }}, {{ otherwise: {b} }} ] }}"
                ));
                id
            }
            Block::And(a, b) | Block::Or(a, b) => {
                let inclusive = matches!(blk, Block::Or(..));
                let (split, join) = (self.id("s"), self.id("j"));
                let (ea, eb) = (self.emit(a, &join), self.emit(b, &join));
                if inclusive {
                    self.nodes.push(format!(
                        "  {split}: {{ type: inclusive, branches: [ {{ when: \"v > 0\", next: {ea} }}, {{ otherwise: {eb} }} ] }}"
                    ));
                    self.nodes.push(format!("  {join}: {{ type: inclusive, next: {next} }}"));
                } else {
                    self.nodes.push(format!("  {split}: {{ type: parallel, next: [{ea}, {eb}] }}"));
                    self.nodes.push(format!("  {join}: {{ type: parallel, next: {next} }}"));
                }
                split
            }
            Block::Seq(items) => {
                let mut next = next.to_owned();
                for item in items.iter().rev() {
                    next = self.emit(item, &next);
                }
                next
            }
        }
    }
}

/// The generated flows are well-structured, so the validator must accept every one of them.
fn assert_valid(yaml: &str) -> Result<(), TestCaseError> {
    let calendars = ["cn-mainland".to_owned()];
    let checked = crate::validate::check(yaml, &crate::validate::Env { calendars: &calendars, flows: &[] });
    prop_assert!(checked.is_valid(), "generated flow rejected: {:#?}\n{yaml}", checked.problems);
    Ok(())
}

fn render(b: &Block) -> String {
    let mut r = Render { nodes: vec!["  end: { type: end }".to_owned()], n: 0 };
    let entry = r.emit(b, "end");
    format!(
        "id: generated\nvariables:\n  v: {{ type: integer, default: 0 }}\nstart: {entry}\nnodes:\n{}\n",
        r.nodes.join("\n")
    )
}

/// Every command the case would accept now, in a stable order.
fn enabled(c: &Case, salt: u8) -> Vec<Command> {
    let mut out = Vec::new();
    for (i, t) in c.state.tasks.iter().enumerate() {
        // A claimed task is worked on by its assignee; an open one by some user.
        let user = t.assignee.clone().unwrap_or_else(|| format!("u{}", (i as u8).wrapping_add(salt) % 7));
        let actor = Actor::new(user, &[]);
        let node = c.def.flow.node(t.node);
        let outcome = match &node.kind {
            crate::model::NodeKind::UserTask(spec) if !spec.outcomes.is_empty() => {
                Some(spec.outcomes[(salt as usize + i) % spec.outcomes.len()].clone())
            }
            _ => None,
        };
        let mut completion = Completion { outcome, ..Completion::default() };
        completion.variables.insert("v".into(), json!(salt % 5));
        let mut refused = completion.clone();
        refused.variables.insert("undeclared".into(), json!(1));
        out.push(Command::Claim { task: t.key, actor: actor.clone() });
        out.push(Command::Complete { task: t.key, actor: actor.clone(), completion: refused });
        out.push(Command::Complete { task: t.key, actor, completion });
    }
    for t in &c.state.timers {
        out.push(Command::FireTimer { timer: t.key });
    }
    for j in &c.state.jobs {
        out.push(Command::JobSucceeded { job: j.key, variables: Default::default() });
        out.push(Command::JobFailed { job: j.key, message: "down".into(), error_code: None });
    }
    for i in &c.state.incidents {
        out.push(Command::RetryIncident { incident: i.key });
    }
    for t in &c.state.tokens {
        if let Wait::Message(m) = &t.wait {
            out.push(Command::CorrelateMessage { name: m.clone(), variables: Default::default() });
        }
    }
    out
}

/// Structural invariants of a settled case.
fn check_invariants(c: &Case) -> Result<(), TestCaseError> {
    let s = &c.state;
    if s.status.is_closed() {
        prop_assert!(s.tokens.is_empty() && s.tasks.is_empty() && s.timers.is_empty() && s.jobs.is_empty());
        return Ok(());
    }
    prop_assert!(!s.tokens.is_empty(), "an active case has tokens");
    for t in &s.tokens {
        prop_assert_ne!(&t.wait, &Wait::Ready, "every token settles in a wait state");
        if t.wait == Wait::Tasks {
            prop_assert!(s.tasks.iter().any(|k| k.token == t.id), "a token waiting for tasks has one");
        }
    }
    for k in &s.tasks {
        prop_assert!(s.token(k.token).is_some_and(|t| t.wait == Wait::Tasks), "every task has its token");
    }
    for timer in &s.timers {
        let owner = crate::core::machine::timer_token(&timer.purpose);
        prop_assert!(s.token(owner).is_some(), "every timer has its token");
    }
    for j in &s.jobs {
        prop_assert!(s.token(j.token).is_some(), "every job has its token");
    }
    Ok(())
}

fn run(flow: &Block, choices: &[u8]) -> Result<(Case, Vec<Command>), TestCaseError> {
    let yaml = render(flow);
    assert_valid(&yaml)?;
    let mut c = Case::new(definition(&yaml));
    c.start(json!({}));
    check_invariants(&c)?;
    let mut applied = Vec::new();
    let mut completed = std::collections::HashSet::new();
    for &choice in choices {
        let options = enabled(&c, choice);
        if options.is_empty() {
            break;
        }
        let command = options[choice as usize % options.len()].clone();
        let before = c.state.clone();
        let result = c.apply_in_place(command.clone());
        if result.is_err() {
            prop_assert_eq!(&c.state, &before, "a refused {} changed the case", command.name());
        }
        if let Ok(effects) = result {
            for e in &effects {
                if let Effect::CompleteTask { task, .. } = e {
                    prop_assert!(completed.insert(*task), "task {task} completed twice");
                }
            }
            applied.push(command);
        }
        check_invariants(&c)?;
    }
    Ok((c, applied))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_event_orders_keep_the_invariants(flow in block(), choices in prop::collection::vec(any::<u8>(), 0..60)) {
        run(&flow, &choices)?;
    }

    #[test]
    fn replaying_the_same_commands_gives_the_same_state(flow in block(), choices in prop::collection::vec(any::<u8>(), 0..40)) {
        let (first, applied) = run(&flow, &choices)?;
        let mut again = Case::new(first.def.clone());
        again.start(json!({}));
        for command in applied {
            again.apply(command).map_err(|e| TestCaseError::fail(format!("replay refused: {e}")))?;
        }
        prop_assert_eq!(&again.state, &first.state);
        prop_assert_eq!(&again.effects, &first.effects);
    }

    #[test]
    fn every_wait_state_is_resumable(flow in block(), choices in prop::collection::vec(any::<u8>(), 0..40)) {
        let (c, _) = run(&flow, &choices)?;
        if !c.state.status.is_closed() {
            // Something the engine or a person can do moves the case on.
            let progress = (0..7).flat_map(|salt| enabled(&c, salt)).any(|cmd| {
                let mut probe = Case::new(c.def.clone());
                probe.state = c.state.clone();
                probe.apply(cmd).is_ok() && probe.state != c.state
            });
            prop_assert!(progress, "stuck: {:#?}", c.state.tokens);
        }
    }

    #[test]
    fn a_closed_case_accepts_nothing(flow in block(), choices in prop::collection::vec(any::<u8>(), 0..60), extra in any::<u8>()) {
        let (mut c, _) = run(&flow, &choices)?;
        c.apply(Command::Cancel { reason: "test".into() }).ok();
        prop_assert!(c.state.status.is_closed());
        let before = c.state.clone();
        for cmd in [
            Command::FireTimer { timer: TimerKey(u32::from(extra)) },
            Command::Suspend,
            Command::Start { variables: Default::default() },
            Command::CorrelateMessage { name: "m0".into(), variables: Default::default() },
        ] {
            if let Ok(effects) = c.apply(cmd) {
                prop_assert!(effects.is_empty());
            }
            prop_assert_eq!(&c.state, &before);
        }
    }
}
