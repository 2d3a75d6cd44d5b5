//! Every shipped workflow validates against the shipped calendars and the other shipped
//! flows, and can be prepared for running.

use std::path::Path;
use std::sync::Arc;

use docket_engine::calendar::Calendars;
use docket_engine::core::Definition;
use docket_engine::validate::{self, Env};

fn shipped() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../workflows");
    let mut flows: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("workflows directory")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| (p.display().to_string(), std::fs::read_to_string(&p).expect("readable")))
        .collect();
    flows.sort();
    flows
}

#[test]
fn every_shipped_workflow_validates_and_runs() {
    let flows = shipped();
    assert!(!flows.is_empty());
    let keys: Vec<String> =
        flows.iter().filter_map(|(_, src)| docket_engine::dsl::parse(src).flow.map(|f| f.id)).collect();
    let calendars: Vec<String> =
        Calendars::shipped().expect("shipped calendars").iter().map(|c| c.id().to_owned()).collect();
    let env = Env { calendars: &calendars, flows: &keys };
    for (path, source) in &flows {
        let checked = validate::check(source, &env);
        let problems: Vec<String> = checked.problems.iter().map(|p| p.display_in(path).to_string()).collect();
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        let flow = checked.flow.expect("a flow");
        Definition::new(Arc::new(flow)).expect("runnable");
    }
}
