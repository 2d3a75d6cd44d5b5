//! The shipped workflows: `workflows/*.yaml`, embedded in the binary so `docket serve`
//! deploys them from any working directory.
//!
//! They are deployed on every start; the store keeps one version per distinct content, so
//! deploying an unchanged file is a no-op and an edited one becomes the next version.
//! Flows are deployed after the flows they call, so a call activity always finds its
//! sub-flow deployed.

use docket_engine::dsl;
use docket_engine::model::NodeKind;
use docket_engine::store::{Deployment, Store, StoreError};
use include_dir::{Dir, include_dir};

/// The repository's `workflows/` directory, as it was at build time.
static WORKFLOWS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../workflows");

/// Who the audit log names for the deployments made at start-up.
pub const DEPLOYED_BY: &str = "system:docket-serve";

/// One shipped flow definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shipped {
    /// The file name (`penalty-general.yaml`).
    pub file: String,
    /// The YAML source.
    pub source: &'static str,
    /// The flow key, when the file parses as a flow.
    pub key: Option<String>,
    /// Keys of the flows its call activities start.
    pub calls: Vec<String>,
}

/// The shipped flows, each after the shipped flows it calls (by file name otherwise).
pub fn shipped() -> Vec<Shipped> {
    let mut files: Vec<(String, &'static str)> = WORKFLOWS
        .files()
        .filter_map(|file| {
            let name = file.path().file_name()?.to_str()?;
            let yaml = name.ends_with(".yaml") || name.ends_with(".yml");
            Some((name.to_owned(), file.contents_utf8()?)).filter(|_| yaml)
        })
        .collect();
    files.sort();
    callees_first(files.into_iter().map(|(file, source)| describe(file, source)).collect())
}

fn describe(file: String, source: &'static str) -> Shipped {
    let flow = dsl::parse(source).flow;
    let key = flow.as_ref().map(|f| f.id.clone());
    let mut calls: Vec<String> = flow
        .iter()
        .flat_map(|f| &f.nodes)
        .filter_map(|node| match &node.kind {
            NodeKind::Call(call) => Some(call.flow.name.clone()),
            _ => None,
        })
        .collect();
    calls.sort();
    calls.dedup();
    Shipped { file, source, key, calls }
}

/// Orders flows so each comes after the shipped flows it calls; a cycle (which the
/// validator reports) keeps the remaining flows in their given order.
fn callees_first(mut pending: Vec<Shipped>) -> Vec<Shipped> {
    let mut ordered: Vec<Shipped> = Vec::with_capacity(pending.len());
    while !pending.is_empty() {
        let is_pending = |key: &String| pending.iter().any(|p| p.key.as_ref() == Some(key));
        let ready = pending.iter().position(|s| s.calls.iter().all(|c| s.key.as_ref() == Some(c) || !is_pending(c)));
        ordered.push(pending.remove(ready.unwrap_or(0)));
    }
    ordered
}

/// Deploys every shipped flow, callees first.
///
/// # Errors
/// The first deployment the store refuses, with the file name; a shipped flow that does
/// not validate is a build defect, so the server does not start with it.
pub async fn deploy_shipped(store: &Store) -> Result<Vec<(Shipped, Deployment)>, (Shipped, StoreError)> {
    let mut deployed = Vec::new();
    for flow in shipped() {
        match store.deploy(flow.source, DEPLOYED_BY).await {
            Ok(deployment) => deployed.push((flow, deployment)),
            Err(e) => return Err((flow, e)),
        }
    }
    Ok(deployed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(file: &str, key: &str, calls: &[&str]) -> Shipped {
        Shipped {
            file: file.into(),
            source: "",
            key: Some(key.into()),
            calls: calls.iter().map(|c| (*c).to_owned()).collect(),
        }
    }

    fn files(flows: &[Shipped]) -> Vec<&str> {
        flows.iter().map(|f| f.file.as_str()).collect()
    }

    #[test]
    fn the_shipped_flows_are_embedded_and_parse() {
        let flows = shipped();
        assert!(flows.iter().any(|f| f.key.as_deref() == Some("penalty-general")), "{:?}", files(&flows));
        assert!(flows.iter().all(|f| f.file.ends_with(".yaml") || f.file.ends_with(".yml")));
        assert!(flows.iter().all(|f| f.key.is_some()), "every shipped file is a flow: {:?}", files(&flows));
        assert!(!flows.iter().any(|f| f.file.contains("cn-mainland")), "calendars are not flows");
    }

    #[test]
    fn callees_are_deployed_before_their_callers() {
        let ordered = callees_first(vec![
            flow("a.yaml", "a", &["c"]),
            flow("b.yaml", "b", &[]),
            flow("c.yaml", "c", &["d", "elsewhere"]),
            flow("d.yaml", "d", &[]),
        ]);
        assert_eq!(files(&ordered), ["b.yaml", "d.yaml", "c.yaml", "a.yaml"]);
    }

    #[test]
    fn a_cycle_keeps_the_given_order() {
        let ordered =
            callees_first(vec![flow("a.yaml", "a", &["b"]), flow("b.yaml", "b", &["a"]), flow("s.yaml", "s", &["s"])]);
        assert_eq!(files(&ordered), ["s.yaml", "a.yaml", "b.yaml"]);
    }
}
