//! Case-local ids. The core numbers what it creates (tokens, tasks, timers, jobs, ...) from
//! one counter in the case state, so replaying the same commands gives the same ids; the
//! store pairs them with the case id to make global ids.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! local_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u32);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "{}"), self.0)
            }
        }
    };
}

local_id!(
    /// A token: one thread of control inside a case.
    TokenId, "token_"
);
local_id!(
    /// A task in an inbox (one per instance of a multi-instance task).
    TaskKey, "task_"
);
local_id!(
    /// An armed timer.
    TimerKey, "timer_"
);
local_id!(
    /// A service task's job.
    JobKey, "job_"
);
local_id!(
    /// A sub-case started by a call activity.
    CallKey, "call_"
);
local_id!(
    /// A publication opened by a publication node.
    PublicationKey, "publication_"
);
local_id!(
    /// An incident: a token stopped for a person to look at.
    IncidentKey, "incident_"
);
