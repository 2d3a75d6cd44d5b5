//! Definitions and their versions, validation problems, and calendars.

use async_graphql::{Context, Object, Result, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use docket_engine::calendar::Calendar;
use docket_engine::store::entity::definitions;

use super::{instant, store};
use crate::graphql::error::{OrGraphql, invalid};

/// A problem the validator found, where it found it.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Stable code (`unreachable-node`, `guard-bypass`, ...).
    pub code: String,
    /// What is wrong.
    pub message: String,
    /// Line, from 1 (0: unknown).
    pub line: u32,
    /// Column, from 1 (0: unknown).
    pub column: u32,
}

impl From<&docket_engine::problem::Problem> for Problem {
    fn from(p: &docket_engine::problem::Problem) -> Problem {
        Problem { code: p.code.as_str().to_owned(), message: p.message.clone(), line: p.loc.line, column: p.loc.col }
    }
}

/// A node of a flow.
#[derive(SimpleObject, Debug, Clone)]
pub struct FlowNode {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: Option<String>,
    /// Its type (`user_task`, `exclusive`, `publication`, ...).
    pub r#type: String,
    /// The nodes it leads to.
    pub next: Vec<String>,
}

/// One deployed version of a definition.
pub struct DefinitionVersion(pub definitions::Model);

#[Object]
impl DefinitionVersion {
    /// The flow's key.
    async fn key(&self) -> &str {
        &self.0.key
    }
    /// The version, from 1.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// The flow's name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The YAML source as deployed.
    async fn source(&self) -> &str {
        &self.0.source
    }
    /// Hex SHA-256 of the source.
    async fn content_hash(&self) -> &str {
        &self.0.content_hash
    }
    /// Who deployed it.
    async fn deployed_by(&self) -> &str {
        &self.0.deployed_by
    }
    /// When.
    async fn deployed_at(&self) -> DateTime<Utc> {
        instant(self.0.deployed_at)
    }
    /// The validator's problems with this source today (empty for a deployable flow).
    async fn problems(&self, ctx: &Context<'_>) -> Result<Vec<Problem>> {
        Ok(store(ctx)?.validate(&self.0.source).await.gql()?.iter().map(Problem::from).collect())
    }
    /// The flow's nodes, for diagrams.
    async fn nodes(&self, ctx: &Context<'_>) -> Result<Vec<FlowNode>> {
        let loaded = store(ctx)?.loaded_definition(&self.0.key, Some(self.0.version as u32)).await.gql()?;
        let flow = &loaded.definition.flow;
        Ok(flow
            .nodes
            .iter()
            .map(|n| FlowNode {
                id: n.id.clone(),
                name: n.name.clone(),
                r#type: n.kind.type_name().to_owned(),
                next: docket_engine::core::definition::successors(n).map(|s| flow.node(s).id.clone()).collect(),
            })
            .collect())
    }
}

/// A definition: every deployed version of one flow key.
pub struct Definition {
    /// The versions, oldest first (never empty).
    pub versions: Vec<definitions::Model>,
}

#[Object]
impl Definition {
    /// The flow's key.
    async fn key(&self) -> &str {
        self.versions.last().map_or("", |v| v.key.as_str())
    }
    /// The newest version's name.
    async fn name(&self) -> &str {
        self.versions.last().map_or("", |v| v.name.as_str())
    }
    /// The newest version.
    async fn latest(&self) -> Option<DefinitionVersion> {
        self.versions.last().cloned().map(DefinitionVersion)
    }
    /// Every version, oldest first.
    async fn versions(&self) -> Vec<DefinitionVersion> {
        self.versions.iter().cloned().map(DefinitionVersion).collect()
    }
}

/// A dated day of a calendar.
#[derive(SimpleObject, Debug, Clone)]
pub struct CalendarDay {
    /// The date.
    pub date: NaiveDate,
    /// Its name (春节, 国庆节 ...).
    pub name: String,
}

/// A working-day calendar.
pub struct CalendarInfo(pub &'static Calendar);

#[Object(name = "Calendar")]
impl CalendarInfo {
    /// Its id (`cn-mainland`).
    async fn id(&self) -> &str {
        self.0.id()
    }
    /// Its name.
    async fn name(&self) -> &str {
        self.0.name()
    }
    /// The first year it knows.
    async fn first_year(&self) -> i32 {
        self.0.years().from
    }
    /// The last year it knows; dates after it are an error, never a guess.
    async fn last_year(&self) -> i32 {
        self.0.years().to
    }
    /// Statutory holidays (of one year, or all).
    async fn holidays(&self, year: Option<i32>) -> Vec<CalendarDay> {
        days(self.0.holidays(), year)
    }
    /// Weekend days that are working days (调休).
    async fn adjusted_workdays(&self, year: Option<i32>) -> Vec<CalendarDay> {
        days(self.0.adjusted_workdays(), year)
    }
    /// Whether a date is a working day.
    async fn is_working_day(&self, date: NaiveDate) -> Result<bool> {
        self.0.is_working_day(date).map_err(|e| invalid(e.to_string()))
    }
}

fn days<'a>(iter: impl Iterator<Item = (NaiveDate, &'a str)>, year: Option<i32>) -> Vec<CalendarDay> {
    use chrono::Datelike;
    iter.filter(|(d, _)| year.is_none_or(|y| d.year() == y))
        .map(|(date, name)| CalendarDay { date, name: name.to_owned() })
        .collect()
}
