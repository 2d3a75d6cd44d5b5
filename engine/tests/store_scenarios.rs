//! The durable engine on SQLite and PostgreSQL: a case through its life, claims under
//! contention, lost updates, idempotency, definition upgrades, timers.

mod support;

use std::sync::Arc;

use docket_engine::access::{Principal, Role};
use docket_engine::core::{Actor, CaseStatus, Command, Completion, RecordRef, TaskKey, Wait};
use docket_engine::store::{
    InboxFilter, InboxQuery, InboxScope, InboxSort, SortKey, StartCase, Store, StoreError, TaskStateFilter,
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, TransactionTrait};
use serde_json::json;

use docket_engine::store::entity::{audit_log, cases, evidence_records, publications, task_candidates, tasks};

fn record(kind: &str, n: usize) -> RecordRef {
    RecordRef { kind: kind.into(), sha256: format!("{n:064x}"), size: n as u64, uri: format!("s3://evidence/{n}") }
}

fn completion(outcome: Option<&str>, vars: serde_json::Value, checklist: &[&str], records: &[&str]) -> Completion {
    Completion {
        outcome: outcome.map(str::to_owned),
        variables: vars.as_object().cloned().unwrap_or_default().into_iter().collect(),
        checklist: checklist.iter().map(|c| ((*c).to_owned(), true)).collect(),
        records: records.iter().enumerate().map(|(i, k)| record(k, i)).collect(),
    }
}

async fn start_penalty(store: &Store) -> String {
    store.deploy(support::PENALTY, "admin").await.expect("deploy");
    let started = store
        .start_case(StartCase { flow: "penalty-general".into(), actor: "h1".into(), ..Default::default() })
        .await
        .expect("start");
    started.case_id
}

/// Deploys the penalty flow and starts `n` cases of it, each waiting at its filing task.
async fn start_penalties(store: &Store, n: usize) {
    store.deploy(support::PENALTY, "admin").await.expect("deploy");
    for _ in 0..n {
        store
            .start_case(StartCase { flow: "penalty-general".into(), actor: "h1".into(), ..Default::default() })
            .await
            .expect("start");
    }
}

/// Starts a case of the (deployed) penalty flow with business key `key`; its id.
async fn start_keyed(store: &Store, key: &str) -> String {
    let start = StartCase {
        flow: "penalty-general".into(),
        actor: "h1".into(),
        business_key: Some(key.into()),
        ..Default::default()
    };
    store.start_case(start).await.unwrap().case_id
}

async fn open_task(store: &Store, case: &str, node: &str) -> TaskKey {
    let (_, state) = store.case_state(case).await.expect("case");
    let row = tasks::Entity::find()
        .filter(tasks::Column::CaseId.eq(case))
        .filter(tasks::Column::NodeId.eq(node))
        .filter(tasks::Column::State.eq("open"))
        .one(store.db())
        .await
        .expect("query")
        .unwrap_or_else(|| panic!("no open task at {node}: {:?}", state.tasks));
    TaskKey(row.task_key as u32)
}

async fn work(store: &Store, case: &str, node: &str, actor: &Actor, c: Completion) {
    let task = open_task(store, case, node).await;
    store.execute(case, Command::Claim { task, actor: actor.clone() }, &actor.user, None).await.expect("claim");
    store
        .execute(case, Command::Complete { task, actor: actor.clone(), completion: c }, &actor.user, None)
        .await
        .expect("complete");
}

const CHECKLIST: &[&str] =
    &["subject", "authority", "facts", "evidence", "law", "procedure", "discretion", "documents", "rights", "other"];

#[tokio::test]
async fn a_major_case_runs_to_the_archive_with_an_intact_audit_chain() {
    support::on_both(|store| async move {
        let case = start_penalty(&store).await;
        let h1 = Actor::new("h1", &["handler"]);
        let h2 = Actor::new("h2", &["handler"]);
        work(&store, &case, "filing", &h1, completion(None, json!({}), &[], &["text"])).await;
        let evidence = completion(None, json!({ "fine_amount": 80000 }), &[], &["text", "audio_video"]);
        work(&store, &case, "evidence", &h1, evidence).await;
        work(&store, &case, "evidence", &h2, completion(None, json!({}), &[], &["text", "audio_video"])).await;
        work(
            &store,
            &case,
            "chief_approval",
            &Actor::new("chief", &["section_chief"]),
            completion(Some("approved"), json!({}), &[], &[]),
        )
        .await;
        let review = completion(Some("approved"), json!({}), CHECKLIST, &[]);
        work(&store, &case, "legal_review", &Actor::new("rev", &["legal_reviewer"]), review).await;
        work(&store, &case, "decide", &Actor::new("boss", &["leader"]), completion(None, json!({}), &[], &["text"]))
            .await;
        let (_, state) = store.case_state(&case).await.unwrap();
        let publication = state
            .tokens
            .iter()
            .find_map(|t| if let Wait::Publication(p) = t.wait { Some(p) } else { None })
            .expect("waiting for publication");
        let open = publications::Entity::find()
            .filter(publications::Column::CaseId.eq(&case))
            .one(store.db())
            .await
            .unwrap()
            .unwrap();
        assert!(open.published_at.is_none() && open.category == "penalty");
        let done = store.execute(&case, Command::Published { publication }, "clerk", None).await.unwrap();
        assert_eq!(done.status, CaseStatus::Completed);
        let published = publications::Entity::find()
            .filter(publications::Column::CaseId.eq(&case))
            .one(store.db())
            .await
            .unwrap()
            .unwrap();
        assert!(published.published_at.is_some(), "the publication is recorded as made");
        assert!(published.due_at > published.opened_at, "a legal deadline for publication");

        // Every command left one audit entry and the chain verifies.
        let entries =
            audit_log::Entity::find().filter(audit_log::Column::CaseId.eq(&case)).count(store.db()).await.unwrap();
        assert_eq!(entries, 14);
        store.verify_audit(&case).await.expect("chain verifies");
        // Records are stored as evidence; no open task is left in any inbox.
        let records = evidence_records::Entity::find()
            .filter(evidence_records::Column::CaseId.eq(&case))
            .count(store.db())
            .await
            .unwrap();
        assert_eq!(records, 1 + 2 + 2 + 1);
        assert_eq!(task_candidates::Entity::find().count(store.db()).await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
async fn of_fifty_concurrent_claims_exactly_one_wins() {
    support::on_both(|store| async move {
        let case = start_penalty(&store).await;
        let task = open_task(&store, &case, "filing").await;
        let mut claims = tokio::task::JoinSet::new();
        for n in 0..50 {
            let store = store.clone();
            let case = case.clone();
            claims.spawn(async move {
                let actor = Actor::new(format!("h{n}"), &["handler"]);
                store.execute(&case, Command::Claim { task, actor: actor.clone() }, &actor.user, None).await
            });
        }
        let mut won = 0;
        while let Some(result) = claims.join_next().await {
            match result.unwrap() {
                Ok(_) => won += 1,
                Err(StoreError::Refused(e)) => assert_eq!(e.code(), "ALREADY_CLAIMED"),
                Err(e) => panic!("unexpected {e}"),
            }
        }
        assert_eq!(won, 1);
        let (_, state) = store.case_state(&case).await.unwrap();
        assert!(state.task(task).unwrap().assignee.is_some());
    })
    .await;
}

#[tokio::test]
async fn concurrent_commands_on_one_case_lose_no_update() {
    support::on_both(|store| async move {
        let case = start_penalty(&store).await;
        let task = open_task(&store, &case, "filing").await;
        let h1 = Actor::new("h1", &["handler"]);
        store.execute(&case, Command::Claim { task, actor: h1.clone() }, "h1", None).await.unwrap();
        let store = Arc::new(store);
        let mut writers = tokio::task::JoinSet::new();
        for n in 0..40 {
            let store = store.clone();
            let case = case.clone();
            let h1 = h1.clone();
            writers.spawn(async move {
                let command = Command::AttachRecord { task, actor: h1, record: record("photo", n) };
                store.execute(&case, command, "h1", None).await
            });
        }
        while let Some(r) = writers.join_next().await {
            r.unwrap().expect("every attach is accepted");
        }
        let (row, state) = store.case_state(&case).await.unwrap();
        assert_eq!(state.task(task).unwrap().records.len(), 40, "no update lost");
        assert_eq!(row.version, 42, "start, claim and 40 attaches");
        store.verify_audit(&case).await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_retried_command_returns_the_first_result() {
    support::on_both(|store| async move {
        let case = start_penalty(&store).await;
        let task = open_task(&store, &case, "filing").await;
        let h1 = Actor::new("h1", &["handler"]);
        let first = store
            .execute(&case, Command::Claim { task, actor: h1.clone() }, "h1", Some(format!("claim-{case}")))
            .await
            .unwrap();
        let again = store
            .execute(&case, Command::Claim { task, actor: h1.clone() }, "h1", Some(format!("claim-{case}")))
            .await
            .unwrap();
        assert_eq!(first, again);
        let entries =
            audit_log::Entity::find().filter(audit_log::Column::CaseId.eq(&case)).count(store.db()).await.unwrap();
        assert_eq!(entries, 2, "start and one claim");

        // The same key with another command is refused, not answered with the first result.
        let other = store
            .execute(&case, Command::Unclaim { task, actor: h1.clone() }, "h1", Some(format!("claim-{case}")))
            .await;
        assert!(matches!(other, Err(StoreError::IdempotencyMismatch(_))), "{other:?}");

        // Past the retention the key is forgotten, and the command would run again.
        let pruned = store.prune_idempotency_keys(store.now() + chrono::Duration::seconds(1)).await.unwrap();
        assert!(pruned >= 1);
        let unclaimed = store
            .execute(&case, Command::Unclaim { task, actor: h1.clone() }, "h1", Some(format!("claim-{case}")))
            .await
            .unwrap();
        assert!(unclaimed.version > first.version);
    })
    .await;
}

#[tokio::test]
async fn a_case_keeps_its_definition_version_after_an_upgrade() {
    support::on_both(|store| async move {
        let case = start_penalty(&store).await;
        let v2 = support::PENALTY.replace("name: 立案", "name: 立案登记");
        let deployed = store.deploy(&v2, "admin").await.unwrap();
        assert_eq!((deployed.version, deployed.created), (2, true));
        assert!(!store.deploy(&v2, "admin").await.unwrap().created, "same content deploys once");
        let (row, _) = store.case_state(&case).await.unwrap();
        assert_eq!(row.flow_version, 1);
        work(&store, &case, "filing", &Actor::new("h1", &["handler"]), completion(None, json!({}), &[], &["text"]))
            .await;
        let (row, _) = store.case_state(&case).await.unwrap();
        assert_eq!(row.flow_version, 1, "still on version 1");
        let fresh = store
            .start_case(StartCase { flow: "penalty-general".into(), actor: "h1".into(), ..Default::default() })
            .await
            .unwrap();
        let (row, _) = store.case_state(&fresh.case_id).await.unwrap();
        assert_eq!(row.flow_version, 2, "new cases take the latest version");
        let task = tasks::Entity::find()
            .filter(tasks::Column::CaseId.eq(&fresh.case_id))
            .one(store.db())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(task.name, "立案登记");
    })
    .await;
}

#[tokio::test]
async fn refused_commands_change_nothing_and_say_why() {
    support::on_both(|store| async move {
        let case = start_penalty(&store).await;
        let task = open_task(&store, &case, "filing").await;
        let clerk = Actor::new("clerk", &["clerk"]);
        let err = store.execute(&case, Command::Claim { task, actor: clerk }, "clerk", None).await.unwrap_err();
        assert_eq!(err.code(), "FORBIDDEN");
        let (row, _) = store.case_state(&case).await.unwrap();
        assert_eq!(row.version, 1);
        let err = store.execute("no-such-case", Command::Suspend, "x", None).await.unwrap_err();
        assert_eq!(err.code(), "NOT_FOUND");
        let err = store.deploy("id: broken\nnodes: [", "admin").await.unwrap_err();
        assert_eq!(err.code(), "VALIDATION");
    })
    .await;
}

#[tokio::test]
async fn the_group_inbox_pages_by_due_date() {
    support::on_both(|store| async move {
        start_penalties(&store, 5).await;
        let groups = vec!["handler".to_owned(), "nobody".to_owned()];
        let first = store.group_inbox(&groups, 3, None).await.unwrap();
        assert_eq!(first.tasks.len(), 3);
        let second = store.group_inbox(&groups, 3, first.next).await.unwrap();
        assert_eq!(second.tasks.len(), 2);
        assert!(second.next.is_none());
        let mut seen: Vec<i64> = first.tasks.iter().chain(&second.tasks).map(|t| t.id).collect();
        let dues: Vec<Option<i64>> = first.tasks.iter().chain(&second.tasks).map(|t| t.due_at).collect();
        assert!(dues.windows(2).all(|w| w[0] <= w[1]), "ordered by due date: {dues:?}");
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 5, "every task once");
        assert!(store.group_inbox(&["leader".to_owned()], 10, None).await.unwrap().tasks.is_empty());
    })
    .await;
}

/// One page of up to 50 of an inbox, as the task ids in order.
async fn inbox_ids(store: &Store, scope: &InboxScope, filter: InboxFilter, sort: InboxSort) -> Vec<i64> {
    let query = InboxQuery { scope: scope.clone(), filter, sort, limit: 50, after: None };
    let ids: Vec<i64> = store.inbox(&query).await.unwrap().tasks.iter().map(|t| t.id).collect();
    let count = store.inbox_count(&query.scope, &query.filter).await.unwrap();
    assert_eq!(count, ids.len() as u64, "the count agrees with the page");
    ids
}

#[tokio::test]
async fn my_tasks_follow_claims_delegations_and_completions() {
    support::on_both(|store| async move {
        store.deploy(support::PENALTY, "admin").await.unwrap();
        let mut cases = Vec::new();
        for bk in ["BK-1", "BK-2", "BK-3"] {
            let case = start_keyed(&store, bk).await;
            let task = open_task(&store, &case, "filing").await;
            let id = store.case_tasks(&case, true).await.unwrap()[0].id;
            cases.push((case, task, id));
        }
        let (h1, h2) = (Actor::new("h1", &["handler"]), Actor::new("h2", &["handler"]));
        let mine = |user: &str| InboxScope::Assigned(user.to_owned());
        let group = InboxScope::Offered { groups: vec!["handler".into()], user: None };
        let all = InboxFilter::default;
        let by = |key: SortKey, descending: bool| InboxSort { key, descending };
        let due = InboxSort::default();
        let run = |case: &String, command: Command, user: &str| {
            let (store, case, user) = (store.clone(), case.clone(), user.to_owned());
            async move { store.execute(&case, command, &user, None).await.unwrap() }
        };
        for (case, task, _) in &cases[..2] {
            run(case, Command::Claim { task: *task, actor: h1.clone() }, "h1").await;
        }
        let (one, two, three) = (cases[0].2, cases[1].2, cases[2].2);
        let mut held = vec![one, two];
        assert_eq!(inbox_ids(&store, &mine("h1"), all(), by(SortKey::Created, false)).await, held);
        held.reverse();
        assert_eq!(inbox_ids(&store, &mine("h1"), all(), by(SortKey::Created, true)).await, held);
        let claimed = InboxFilter { state: Some(TaskStateFilter::Claimed), ..all() };
        assert_eq!(inbox_ids(&store, &group, claimed, by(SortKey::Created, false)).await, [one, two]);
        let unclaimed = InboxFilter { state: Some(TaskStateFilter::Unclaimed), ..all() };
        assert_eq!(inbox_ids(&store, &group, unclaimed, due).await, [three]);

        let (case, task, _) = &cases[1];
        run(case, Command::Delegate { task: *task, actor: h1.clone(), to: "h2".into() }, "h1").await;
        assert_eq!(inbox_ids(&store, &mine("h1"), all(), due).await, [one]);
        assert_eq!(inbox_ids(&store, &mine("h2"), all(), due).await, [two]);
        let (case, task, _) = &cases[0];
        run(case, Command::Unclaim { task: *task, actor: h1.clone() }, "h1").await;
        assert!(inbox_ids(&store, &mine("h1"), all(), due).await.is_empty(), "an unclaimed task is nobody's");

        let (case, task, _) = &cases[1];
        let done = completion(None, json!({}), &[], &["text"]);
        run(case, Command::Complete { task: *task, actor: h2.clone(), completion: done }, "h2").await;
        assert!(inbox_ids(&store, &mine("h2"), all(), due).await.is_empty(), "a completed task leaves my tasks");
        assert_eq!(
            inbox_ids(&store, &group, InboxFilter { business_key: Some("BK-3".into()), ..all() }, due).await,
            [three]
        );
        let none = InboxFilter { business_key: Some("BK-2".into()), state: Some(TaskStateFilter::Claimed), ..all() };
        assert!(inbox_ids(&store, &group, none, due).await.is_empty(), "BK-2's open tasks are unclaimed");

        // The group's tasks now: two filings and BK-2's evidence tasks. By priority, ties by id.
        let query = InboxQuery {
            scope: group.clone(),
            filter: all(),
            sort: by(SortKey::Priority, true),
            limit: 50,
            after: None,
        };
        let page = store.inbox(&query).await.unwrap();
        let keys: Vec<(i32, i64)> = page.tasks.iter().map(|t| (t.priority, t.id)).collect();
        let mut sorted = keys.clone();
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!((keys.len(), &keys), (4, &sorted), "highest priority first");
    })
    .await;
}

/// Attaches a record to each task at once, as `actor`. PostgreSQL enforces column lengths: the
/// 16th record's kind is longer than `evidence_records.kind` (30 characters), so it passes the
/// core but fails in the database. That command alone must fail, with `DATABASE`.
async fn attach_at_once_the_16th_too_long(store: &Store, actor: &Actor, tasks: Vec<(String, TaskKey)>) {
    let mut writers = tokio::task::JoinSet::new();
    for (n, (case, task)) in tasks.into_iter().enumerate() {
        let (store, actor) = (store.clone(), actor.clone());
        writers.spawn(async move {
            let kind = if n == 15 { "k".repeat(40) } else { "photo".to_owned() };
            let record = RecordRef { kind, ..record("photo", n) };
            let user = actor.user.clone();
            (n, store.execute(&case, Command::AttachRecord { task, actor, record }, &user, None).await)
        });
    }
    while let Some(joined) = writers.join_next().await {
        let (n, result) = joined.unwrap();
        if n == 15 {
            assert_eq!(result.unwrap_err().code(), "DATABASE");
        } else {
            result.unwrap_or_else(|e| panic!("command {n} failed: {e}"));
        }
    }
}

#[tokio::test]
async fn a_command_failing_in_the_database_does_not_fail_its_batch_neighbours() {
    let Some((store, _db)) = support::postgres().await else { return };
    let case = start_penalty(&store).await;
    let task = open_task(&store, &case, "filing").await;
    let h1 = Actor::new("h1", &["handler"]);
    store.execute(&case, Command::Claim { task, actor: h1.clone() }, "h1", None).await.unwrap();
    attach_at_once_the_16th_too_long(&store, &h1, vec![(case.clone(), task); 30]).await;
    let (_, state) = store.case_state(&case).await.unwrap();
    assert_eq!(state.task(task).unwrap().records.len(), 29);
    store.verify_audit(&case).await.unwrap();
    store.shutdown().await;
}

#[tokio::test]
async fn a_command_failing_among_commands_on_other_cases_fails_alone() {
    // Commands on different cached cases run together (their statements pipelined on
    // PostgreSQL, their record inserts merged into one): one failing in the database is
    // taken out (the merged insert fails first, then the batch runs unmerged to find whose
    // row it was); the others commit.
    let Some((store, _db)) = support::postgres().await else { return };
    let h1 = Actor::new("h1", &["handler"]);
    let mut cases = Vec::new();
    for _ in 0..30 {
        let case = start_penalty(&store).await;
        let task = open_task(&store, &case, "filing").await;
        store.execute(&case, Command::Claim { task, actor: h1.clone() }, "h1", None).await.unwrap();
        cases.push((case, task));
    }
    attach_at_once_the_16th_too_long(&store, &h1, cases.clone()).await;
    for (n, (case, task)) in cases.iter().enumerate() {
        let (_, state) = store.case_state(case).await.unwrap();
        assert_eq!(state.task(*task).unwrap().records.len(), usize::from(n != 15), "case {n}");
        store.verify_audit(case).await.unwrap();
    }
    assert_eq!(evidence_records::Entity::find().count(store.db()).await.unwrap(), 29);
    store.shutdown().await;
}

#[tokio::test]
async fn a_server_on_this_machine_is_spoken_to_without_tls() {
    // `sslmode=prefer` (the default) allows a plain connection; on loopback TLS only costs.
    let Some((store, _db)) = support::postgres().await else { return };
    let ssl = store
        .db()
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        ))
        .await
        .unwrap()
        .expect("this connection's row");
    assert!(!ssl.try_get::<bool>("", "ssl").unwrap());
    store.shutdown().await;
}

const CHILD: &str = r#"
id: review-sub
variables:
  opinion: { type: string }
start: review
nodes:
  review:
    type: user_task
    candidates: { groups: [legal_reviewer] }
    outcomes: [approved, rejected]
    form: [opinion]
    next: verdict
  verdict:
    type: exclusive
    branches:
      - { when: "review.outcome == 'approved'", next: ok }
      - { otherwise: no }
  ok: { type: end, outcome: approved }
  no: { type: end, outcome: rejected }
"#;

const PARENT: &str = r#"
id: calls-review
variables:
  opinion: { type: string }
start: consult
nodes:
  consult:
    type: call
    flow: review-sub
    outputs: [opinion]
    next: result
  result:
    type: exclusive
    branches:
      - { when: "consult.outcome == 'approved'", next: decide }
      - { otherwise: closed }
  decide: { type: user_task, candidates: { groups: [leader] }, next: closed }
  closed: { type: end }
"#;

async fn child_of(store: &Store, parent: &str) -> Option<String> {
    cases::Entity::find().filter(cases::Column::ParentCaseId.eq(parent)).one(store.db()).await.unwrap().map(|c| c.id)
}

#[tokio::test]
async fn a_call_activity_runs_its_sub_case_and_hears_its_outcome() {
    support::on_both(|store| async move {
        store.deploy(CHILD, "admin").await.unwrap();
        store.deploy(PARENT, "admin").await.unwrap();
        let parent = store
            .start_case(StartCase { flow: "calls-review".into(), actor: "h1".into(), ..Default::default() })
            .await
            .unwrap();
        let child = child_of(&store, &parent.case_id).await.expect("the call started a sub-case");
        let reviewer = Actor::new("rev", &["legal_reviewer"]);
        work(&store, &child, "review", &reviewer, completion(Some("approved"), json!({ "opinion": "合法" }), &[], &[]))
            .await;
        let (child_row, _) = store.case_state(&child).await.unwrap();
        assert_eq!(child_row.status, "completed");
        let (_, state) = store.case_state(&parent.case_id).await.unwrap();
        assert_eq!(state.outcomes["consult"], json!("approved"));
        assert_eq!(state.variables["opinion"], json!("合法"), "outputs copied back");
        open_task(&store, &parent.case_id, "decide").await;
        store.verify_audit(&child).await.unwrap();
        store.verify_audit(&parent.case_id).await.unwrap();

        // Cancelling a caller cancels its sub-case.
        let other = store
            .start_case(StartCase { flow: "calls-review".into(), actor: "h1".into(), ..Default::default() })
            .await
            .unwrap();
        let other_child = child_of(&store, &other.case_id).await.unwrap();
        store.execute(&other.case_id, Command::Cancel { reason: "withdrawn".into() }, "chief", None).await.unwrap();
        let (row, _) = store.case_state(&other_child).await.unwrap();
        assert_eq!(row.status, "cancelled");
    })
    .await;
}

#[tokio::test]
async fn nodes_starting_together_on_an_empty_postgres_database_all_migrate() {
    let Some(db) = support::pg_database().await else { return };
    let mut nodes = tokio::task::JoinSet::new();
    for _ in 0..3 {
        let url = db.url.clone();
        nodes.spawn(async move {
            let store = Store::connect(support::config(url)).await.expect("connect");
            let migrated = store.migrate().await;
            store.shutdown().await;
            migrated
        });
    }
    while let Some(r) = nodes.join_next().await {
        r.unwrap().expect("every node migrates (or finds it done)");
    }
}

/// A command whose idempotency key another node is using in a transaction still open: when
/// that transaction commits, this command's work is rolled back and its caller gets the first
/// answer. (PostgreSQL: on SQLite one writer at a time makes the race impossible.)
#[tokio::test]
async fn a_key_taken_by_another_node_mid_command_runs_once() {
    let Some((store, _db)) = support::postgres().await else { return };
    store.deploy(support::PENALTY, "test").await.unwrap();
    // Another node's transaction holds the key (its command ran, its commit is pending).
    let other = store.db().begin().await.unwrap();
    let first = r#"{"case_id":"01a2154a-6035-7486-9282-778a80690dce","version":1,"status":"active"}"#;
    other
        .execute_unprepared(&format!(
            "INSERT INTO idempotency_keys (key, case_id, response, created_at) VALUES ('h1\u{1f}start-9', NULL, '{first}', 0)"
        ))
        .await
        .unwrap();
    let start = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .start_case(StartCase {
                    flow: "penalty-general".into(),
                    actor: "h1".into(),
                    idempotency_key: Some("h1\u{1f}start-9".into()),
                    ..Default::default()
                })
                .await
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    other.commit().await.unwrap();
    let answer = start.await.unwrap().expect("answered");
    assert_eq!(answer.case_id, "01a2154a-6035-7486-9282-778a80690dce", "the first answer");
    assert_eq!(cases::Entity::find().count(store.db()).await.unwrap(), 0, "this command's case was rolled back");
    store.shutdown().await;
}

/// Two nodes (`a`, `b`) on one fresh PostgreSQL database, and a penalty case node `a` started
/// (and so holds in memory) with its filing task; `None` without PostgreSQL.
async fn two_nodes_at_filing() -> Option<(Store, Store, support::PgDatabase, String, TaskKey)> {
    let (a, db) = support::postgres().await?;
    let b = Store::connect(support::config(db.url.clone())).await.expect("second node");
    let case = start_penalty(&a).await;
    let filing = open_task(&a, &case, "filing").await;
    Some((a, b, db, case, filing))
}

/// Two nodes on one PostgreSQL database, each keeping the cases it changed in memory: a node
/// whose copy of a case is behind (the other node claimed the task meanwhile) neither refuses
/// from its stale copy nor loses the other node's change.
#[tokio::test]
async fn a_node_whose_cached_case_is_behind_reads_it_again() {
    let Some((a, b, _db, case, task)) = two_nodes_at_filing().await else { return };
    let (h1, h2) = (Actor::new("h1", &["handler"]), Actor::new("h2", &["handler"]));
    // Node a holds the case as started (task unclaimed); node b claims the task for h1.
    b.execute(&case, Command::Claim { task, actor: h1.clone() }, "h1", None).await.expect("claim on b");
    // On a, h2's claim is refused from the case as committed, not accepted from a's copy.
    let refused = a.execute(&case, Command::Claim { task, actor: h2.clone() }, "h2", None).await;
    match refused {
        Err(StoreError::Refused(e)) => assert_eq!(e.code(), "ALREADY_CLAIMED"),
        other => panic!("expected ALREADY_CLAIMED, got {other:?}"),
    }
    // b attaches a record; a, whose copy is now behind again, completes the task: a's write
    // must start from b's, not overwrite it.
    let attach = Command::AttachRecord { task, actor: h1.clone(), record: record("photo", 1) };
    b.execute(&case, attach, "h1", None).await.expect("attach on b");
    let done = completion(None, json!({}), &[], &["text"]);
    a.execute(&case, Command::Complete { task, actor: h1.clone(), completion: done }, "h1", None)
        .await
        .expect("complete on a, from the committed case");
    let (row, state) = a.case_state(&case).await.unwrap();
    assert_eq!(row.version, 4, "start, claim, attach, complete");
    assert!(state.task(task).is_none(), "the filing task is done");
    let records = evidence_records::Entity::find()
        .filter(evidence_records::Column::CaseId.eq(case.as_str()))
        .count(a.db())
        .await
        .unwrap();
    assert_eq!(records, 2, "b's attached record and a's completion record");
    a.verify_audit(&case).await.unwrap();
    a.shutdown().await;
    b.shutdown().await;
}

/// What a case's commands left in its tables, without row ids and times: tasks, the inbox rows
/// offering them, evidence, the case's next timer, publications and audit entries.
async fn footprint(store: &Store, case: &str) -> Vec<String> {
    let db = store.db();
    let mut out = Vec::new();
    let tasks = tasks::Entity::find().filter(tasks::Column::CaseId.eq(case)).all(db).await.unwrap();
    for t in &tasks {
        out.push(format!(
            "task {} {} {} {:?} {} {} {} {:?} {:?} due:{}",
            t.task_key,
            t.node_id,
            t.state,
            t.assignee,
            t.candidate_users,
            t.candidate_groups,
            t.priority,
            t.completed_by,
            t.outcome,
            t.due_at.is_some()
        ));
        let offered =
            task_candidates::Entity::find().filter(task_candidates::Column::TaskId.eq(t.id)).all(db).await.unwrap();
        for c in offered {
            let same_due = c.due_at == Some(t.due_at.unwrap_or(i64::MAX)) || t.due_at.is_none();
            out.push(format!(
                "offer {} {} {} {} due:{same_due} created:{}",
                t.task_key,
                c.kind,
                c.name,
                c.priority,
                c.created_at == t.created_at
            ));
        }
    }
    for r in evidence_records::Entity::find().filter(evidence_records::Column::CaseId.eq(case)).all(db).await.unwrap() {
        out.push(format!("record {} {} {} {} {}", r.task_key, r.kind, r.sha256, r.uri, r.attached_by));
    }
    let row = cases::Entity::find_by_id(case).one(db).await.unwrap().expect("the case");
    out.push(format!(
        "next timer {:?} due:{} leased:{}",
        row.wake_timer,
        row.wake_at.is_some(),
        row.wake_lease_until.is_some()
    ));
    for p in publications::Entity::find().filter(publications::Column::CaseId.eq(case)).all(db).await.unwrap() {
        out.push(format!("publication {} {} {}", p.publication_key, p.category, p.published_at.is_some()));
    }
    for e in audit_log::Entity::find().filter(audit_log::Column::CaseId.eq(case)).all(db).await.unwrap() {
        out.push(format!("audit {} {} {}", e.seq, e.kind, e.actor));
    }
    out.sort();
    out
}

/// A major case with a review disagreement, up to the decision; the footprint while the
/// review is escalated, and at the end.
async fn disputed_case(store: &Store) -> (Vec<String>, Vec<String>) {
    let case = start_penalty(store).await;
    let h1 = Actor::new("h1", &["handler"]);
    work(store, &case, "filing", &h1, completion(None, json!({}), &[], &["text"])).await;
    let evidence = completion(None, json!({ "fine_amount": 80000 }), &[], &["text", "audio_video"]);
    work(store, &case, "evidence", &h1, evidence).await;
    let h2 = Actor::new("h2", &["handler"]);
    work(store, &case, "evidence", &h2, completion(None, json!({}), &[], &["text", "audio_video"])).await;
    let chief = Actor::new("chief", &["section_chief"]);
    work(store, &case, "chief_approval", &chief, completion(Some("approved"), json!({}), &[], &[])).await;
    let rev = Actor::new("rev", &["legal_reviewer"]);
    let task = open_task(store, &case, "legal_review").await;
    store.execute(&case, Command::Claim { task, actor: rev.clone() }, "rev", None).await.expect("claim");
    // Text that must survive quoting, however the statements carry their values.
    let odd = RecordRef { uri: "s3://evidence/o'neil\\x;$1 --".into(), ..record("opinion", 7) };
    let attach = Command::AttachRecord { task, actor: rev.clone(), record: odd };
    store.execute(&case, attach, "rev", None).await.expect("attach");
    let reason = "承办机构对审核意见有异议".to_owned();
    let escalate = Command::EscalateTask { task, actor: rev.clone(), to: "leader".into(), reason };
    store.execute(&case, escalate, "rev", None).await.expect("escalate");
    let escalated = footprint(store, &case).await;
    let boss = Actor::new("boss", &["leader"]);
    let rule = Command::ResolveEscalation {
        task,
        actor: boss.clone(),
        outcome: Some("approved".into()),
        note: "经集体讨论，同意".into(),
    };
    store.execute(&case, rule, "boss", None).await.expect("resolve");
    let review = completion(Some("approved"), json!({}), CHECKLIST, &[]);
    store
        .execute(&case, Command::Complete { task, actor: rev, completion: review }, "rev", None)
        .await
        .expect("review");
    work(store, &case, "decide", &boss, completion(None, json!({}), &[], &["text"])).await;
    (escalated, footprint(store, &case).await)
}

#[tokio::test]
async fn commands_worked_out_ahead_write_what_the_transaction_would() {
    // With no cache of committed cases every command is worked out in its transaction; with
    // it, each is worked out by its caller from the cached case and the committer runs the
    // recorded statements. The two must leave the same rows.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut stores = Vec::new();
    for (name, cached) in [("recorded", 4096), ("in-transaction", 0)] {
        let mut config = support::config(format!("sqlite://{}", dir.path().join(format!("{name}.db")).display()));
        config.cached_cases = cached;
        stores.push(Store::connect(config).await.expect("connect"));
    }
    let pg = support::pg_database().await;
    if let Some(db) = &pg {
        for cached in [4096, 0] {
            let mut config = support::config(db.url.clone());
            config.cached_cases = cached;
            stores.push(Store::connect(config).await.expect("connect"));
        }
    }
    let mut footprints = Vec::new();
    for store in &stores {
        store.migrate().await.expect("migrate");
        footprints.push(disputed_case(store).await);
        store.shutdown().await;
    }
    let (escalated, done) = &footprints[0];
    assert!(escalated.iter().any(|l| l.starts_with("offer") && l.contains("group leader")), "{escalated:#?}");
    assert!(done.iter().any(|l| l.starts_with("publication")), "{done:#?}");
    assert!(done.iter().any(|l| l.contains("s3://evidence/o'neil\\x;$1 --")), "{done:#?}");
    for other in &footprints[1..] {
        assert_eq!(&footprints[0], other);
    }
}

#[tokio::test]
async fn a_task_shown_on_an_inbox_page_is_not_read_again_to_find_its_case() {
    support::on_both(|store| async move {
        let case = start_penalty(&store).await;
        let handler = person("h1", Role::Handler);
        let session = store.session(&handler);
        let page = store.group_inbox(&["handler".to_owned()], 10, None).await.unwrap();
        let task = page.tasks.iter().find(|t| t.case_id == case).expect("the filing task").clone();
        // Behind the store's back, the row names another case: a command that read the row
        // would go there and find no such case.
        let moved = format!("UPDATE tasks SET case_id = 'elsewhere' WHERE id = {}", task.id);
        store.db().execute_unprepared(&moved).await.unwrap();
        let claimed = session.claim(task.id, None).await.expect("claimed on the case the page showed");
        assert_eq!(claimed.case_id, case);
        let (_, state) = store.case_state(&case).await.unwrap();
        let held = state.tasks.iter().find(|t| t.key == TaskKey(task.task_key as u32)).expect("the task");
        assert_eq!(held.assignee.as_deref(), Some("h1"));
        // An id never shown on this node is read: an unknown one is not found.
        let unknown = session.claim(task.id + 1_000, None).await.unwrap_err();
        assert!(matches!(unknown, StoreError::NotFound(_)), "{unknown:?}");
    })
    .await;
}

#[tokio::test]
async fn a_task_offered_to_several_of_the_scanned_groups_is_on_one_page_once() {
    support::on_both(|store| async move {
        start_penalties(&store, 3).await;
        // Every filing task is offered to a second group as well.
        let copy = "INSERT INTO task_candidates (task_id, kind, name, due_at, priority, created_at) \
                    SELECT task_id, kind, 'second', due_at, priority, created_at FROM task_candidates \
                    WHERE kind = 'group' AND name = 'handler'";
        store.db().execute_unprepared(copy).await.unwrap();
        let groups = vec!["handler".to_owned(), "second".to_owned()];
        let scope = InboxScope::Offered { groups: groups.clone(), user: None };
        let all = inbox_ids(&store, &scope, InboxFilter::default(), InboxSort::default()).await;
        assert_eq!(all.len(), 3, "each task once: {all:?}");
        let mut paged = Vec::new();
        let mut after = None;
        loop {
            let page = store.group_inbox(&groups, 2, after).await.unwrap();
            assert!(page.tasks.len() <= 2);
            paged.extend(page.tasks.iter().map(|t| t.id));
            assert_eq!(page.cursors.len(), page.tasks.len());
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        assert_eq!(paged, all, "pages of two hold the same tasks, in the same order");
    })
    .await;
}

/// A page filtered by business key is read from the key (not by scanning each group's inbox):
/// it holds exactly what the whole inbox holds of that key, in the same order, in pages of
/// one as in one page, for every scope, state and order.
#[tokio::test]
async fn a_page_of_one_business_key_holds_what_the_whole_inbox_holds_of_it() {
    support::on_both(|store| async move {
        store.deploy(support::PENALTY, "admin").await.unwrap();
        let h1 = Actor::new("h1", &["handler"]);
        // Two cases share K-1; K-1's second and K-3's cases are past filing, with evidence
        // tasks open; one of K-2's is claimed; one case has no key.
        for (i, key) in ["K-0", "K-1", "K-1", "K-2", "K-3"].into_iter().enumerate() {
            let case = start_keyed(&store, key).await;
            if i == 2 || i == 4 {
                work(&store, &case, "filing", &h1, completion(None, json!({}), &[], &["text"])).await;
            }
            if i == 3 {
                let task = open_task(&store, &case, "filing").await;
                store.execute(&case, Command::Claim { task, actor: h1.clone() }, "h1", None).await.unwrap();
            }
        }
        start_penalty(&store).await;
        let scopes = [
            InboxScope::Offered { groups: vec!["handler".into()], user: Some("h1".into()) },
            InboxScope::Offered { groups: vec!["nobody".into(), "handler".into()], user: None },
            InboxScope::Assigned("h1".into()),
        ];
        let page = |scope: &InboxScope, filter: InboxFilter, sort: InboxSort, limit: u64, after| {
            let query = InboxQuery { scope: scope.clone(), filter, sort, limit, after };
            let store = store.clone();
            async move { store.inbox(&query).await.unwrap() }
        };
        let mut compared = 0;
        for scope in &scopes {
            for state in [None, Some(TaskStateFilter::Unclaimed), Some(TaskStateFilter::Claimed)] {
                for key in [SortKey::Due, SortKey::Priority, SortKey::Created] {
                    for descending in [false, true] {
                        let sort = InboxSort { key, descending };
                        let whole = page(scope, InboxFilter { state, ..InboxFilter::default() }, sort, 50, None).await;
                        for bk in ["K-0", "K-1", "K-2", "K-3", "K-9"] {
                            let expected: Vec<i64> = whole
                                .tasks
                                .iter()
                                .filter(|t| t.business_key.as_deref() == Some(bk))
                                .map(|t| t.id)
                                .collect();
                            let filter = InboxFilter { state, business_key: Some(bk.into()), ..InboxFilter::default() };
                            let one = page(scope, filter.clone(), sort, 50, None).await;
                            let ids: Vec<i64> = one.tasks.iter().map(|t| t.id).collect();
                            assert_eq!(ids, expected, "{scope:?} {state:?} {sort:?} {bk}");
                            let count = store.inbox_count(scope, &filter).await.unwrap();
                            assert_eq!(count, expected.len() as u64, "{scope:?} {state:?} {bk}");
                            let (mut paged, mut after) = (Vec::new(), None);
                            loop {
                                let next = page(scope, filter.clone(), sort, 1, after).await;
                                paged.extend(next.tasks.iter().map(|t| t.id));
                                match next.next {
                                    Some(cursor) => after = Some(cursor),
                                    None => break,
                                }
                            }
                            assert_eq!(paged, expected, "pages of one: {scope:?} {state:?} {sort:?} {bk}");
                            compared += expected.len();
                        }
                    }
                }
            }
        }
        assert!(compared > 50, "the pages held tasks to compare ({compared})");
    })
    .await;
}

/// A principal of one role, in no groups of its own.
fn person(user: &str, role: Role) -> Principal {
    Principal { user: user.into(), name: user.into(), roles: vec![role], groups: vec![], scopes: vec![] }
}

#[tokio::test]
async fn claim_next_of_a_case_gives_its_task_to_one_claimer_and_passes_over_what_it_may_not_take() {
    support::on_both(|store| async move {
        store.deploy(support::PENALTY, "admin").await.unwrap();
        let (open, suspended) = (start_keyed(&store, "C-1").await, start_keyed(&store, "C-2").await);
        store.execute(&suspended, Command::Suspend, "chief", None).await.unwrap();
        // Eight handlers at once, for the one filing task of the case.
        let mut claims = tokio::task::JoinSet::new();
        for n in 0..8 {
            let (store, case) = (store.clone(), open.clone());
            claims.spawn(async move {
                let who = person(&format!("h{n}"), Role::Handler);
                let next = store.session(&who).claim_next_of_case(&case).await;
                (who.user, next.unwrap())
            });
        }
        let mut taken = Vec::new();
        while let Some(joined) = claims.join_next().await {
            if let (user, Some((id, executed))) = joined.unwrap() {
                assert_eq!(executed.case_id, open);
                taken.push((user, id));
            }
        }
        assert_eq!(taken.len(), 1, "one claimer gets the task: {taken:?}");
        let (user, id) = &taken[0];
        let row = tasks::Entity::find_by_id(*id).one(store.db()).await.unwrap().unwrap();
        assert_eq!((row.case_id.as_str(), row.node_id.as_str()), (open.as_str(), "filing"));
        assert_eq!(row.assignee.as_deref(), Some(user.as_str()));
        // Nothing left on it; the suspended case's task may not be taken; a leader is no
        // candidate for filing; a supervisor may not work; an unknown case is not found.
        let late = person("h-late", Role::Handler);
        assert!(store.session(&late).claim_next_of_case(&open).await.unwrap().is_none(), "taken");
        assert!(store.session(&late).claim_next_of_case(&suspended).await.unwrap().is_none(), "suspended");
        let boss = person("boss", Role::Leader);
        store.execute(&suspended, Command::Resume, "chief", None).await.unwrap();
        assert!(store.session(&boss).claim_next_of_case(&suspended).await.unwrap().is_none(), "no candidate");
        let refused = store.session(&person("eye", Role::Supervisor)).claim_next_of_case(&open).await;
        assert!(matches!(refused, Err(StoreError::Forbidden(_))), "{refused:?}");
        let unknown = store.session(&late).claim_next_of_case("no-such-case").await;
        assert!(matches!(unknown, Err(StoreError::CaseNotFound(_))), "{unknown:?}");
        // Resumed, the case's task is the late handler's to take.
        let (id, _) = store.session(&late).claim_next_of_case(&suspended).await.unwrap().expect("resumed");
        let row = tasks::Entity::find_by_id(id).one(store.db()).await.unwrap().unwrap();
        assert_eq!((row.case_id.as_str(), row.assignee.as_deref()), (suspended.as_str(), Some("h-late")));
    })
    .await;
}

/// Two nodes on one PostgreSQL database: a node whose copy of a case is behind (the other node
/// completed the task it shows open) takes the case's new task, read as committed.
#[tokio::test]
async fn claim_next_of_a_case_held_behind_takes_the_task_another_node_made() {
    let Some((a, b, _db, case, filing)) = two_nodes_at_filing().await else { return };
    let h1 = Actor::new("h1", &["handler"]);
    b.execute(&case, Command::Claim { task: filing, actor: h1.clone() }, "h1", None).await.expect("claim on b");
    let done = completion(None, json!({}), &[], &["text"]);
    b.execute(&case, Command::Complete { task: filing, actor: h1, completion: done }, "h1", None)
        .await
        .expect("complete on b");
    // Node a still holds the case at filing; h2 takes the task b's completion opened.
    let h2 = person("h2", Role::Handler);
    let (id, executed) = a.session(&h2).claim_next_of_case(&case).await.unwrap().expect("the new task");
    let row = tasks::Entity::find_by_id(id).one(a.db()).await.unwrap().unwrap();
    assert_ne!(row.task_key as u32, filing.0, "not the filing task");
    assert_eq!((row.state.as_str(), row.assignee.as_deref()), ("open", Some("h2")));
    assert_eq!(executed.version, 4, "start, claim, complete, claim");
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn claim_next_gives_each_task_to_one_claimer_and_passes_over_what_it_may_not_take() {
    support::on_both(|store| async move {
        store.deploy(support::PENALTY, "admin").await.unwrap();
        let mut cases = Vec::new();
        for n in 0..6 {
            cases.push(start_keyed(&store, &format!("N-{n}")).await);
        }
        // The first case is suspended: its filing task stays in the inbox but cannot be taken.
        store.execute(&cases[0], Command::Suspend, "chief", None).await.unwrap();
        let by_key = InboxFilter { business_key: Some("N-3".into()), ..InboxFilter::default() };
        let h = person("h-key", Role::Handler);
        let (task, executed) =
            store.session(&h).claim_next(by_key.clone(), InboxSort::default()).await.unwrap().expect("N-3's task");
        assert_eq!(executed.case_id, cases[3]);
        assert!(store.session(&h).claim_next(by_key, InboxSort::default()).await.unwrap().is_none(), "taken");

        // Eight handlers at once, for the four tasks left that may be taken.
        let mut claims = tokio::task::JoinSet::new();
        for n in 0..8 {
            let store = store.clone();
            claims.spawn(async move {
                let who = person(&format!("h{n}"), Role::Handler);
                let next = store.session(&who).claim_next(InboxFilter::default(), InboxSort::default()).await;
                (who.user, next.unwrap())
            });
        }
        let mut taken = vec![(h.user.clone(), task)];
        while let Some(joined) = claims.join_next().await {
            if let (user, Some((id, _))) = joined.unwrap() {
                taken.push((user, id));
            }
        }
        let mut ids: Vec<i64> = taken.iter().map(|(_, id)| *id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!((taken.len(), ids.len()), (5, 5), "each of five tasks to one claimer: {taken:?}");
        for (user, id) in &taken {
            let row = tasks::Entity::find_by_id(*id).one(store.db()).await.unwrap().unwrap();
            assert_eq!(row.assignee.as_deref(), Some(user.as_str()));
            assert_ne!(row.case_id, cases[0], "the suspended case's task is passed over");
        }
        // A leader is no candidate for filing: nothing to take; a supervisor may not work at all.
        let boss = person("boss", Role::Leader);
        let leader = store.session(&boss);
        assert!(leader.claim_next(InboxFilter::default(), InboxSort::default()).await.unwrap().is_none());
        let supervisor = person("eye", Role::Supervisor);
        let refused = store.session(&supervisor).claim_next(InboxFilter::default(), InboxSort::default()).await;
        assert!(matches!(refused, Err(StoreError::Forbidden(_))), "{refused:?}");
    })
    .await;
}
