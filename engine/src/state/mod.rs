//! State kept between runs: one [`StateStore`] door with two implementations, a JSON file
//! ([`FileStateStore`], for `fust run`) and the job service's metadata store (in
//! `fust-service`). Incremental cursors use it today; streaming checkpoints will too.

mod file;

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::error::Result;
use datafusion::prelude::SessionContext;

pub use file::FileStateStore;

/// Where sources keep state between runs, as string values under string keys.
///
/// Called by sources: `get` while planning (in `Source::table`), `put` from
/// `Source::commit`, i.e. only after the sink has committed. Implementations make a `put`
/// durable before returning and keep the old value when they fail.
#[async_trait]
pub trait StateStore: Send + Sync + Debug {
    async fn get(&self, key: &str) -> Result<Option<String>>;
    async fn put(&self, key: &str, value: &str) -> Result<()>;
}

/// The session extension that carries a run's [`StateStore`] when the runner gives one
/// (the job service does); without it, sources use a [`FileStateStore`].
#[derive(Debug, Clone)]
pub struct StateStoreExtension(pub Arc<dyn StateStore>);

impl StateStoreExtension {
    /// The state store of the run `ctx` belongs to, if its runner gave one.
    pub fn of(ctx: &SessionContext) -> Option<Arc<dyn StateStore>> {
        ctx.state()
            .config()
            .get_extension::<StateStoreExtension>()
            .map(|s| s.0.clone())
    }
}

/// Where a source's `state_file` option points when unset.
pub const DEFAULT_STATE_FILE: &str = ".fust/state.json";

/// The state store of the run `ctx` belongs to: its runner's when it gave one (the job
/// service's metadata store), else the JSON file `state_file` (default
/// [`DEFAULT_STATE_FILE`]).
pub fn store_for(ctx: &SessionContext, state_file: Option<&str>) -> Arc<dyn StateStore> {
    StateStoreExtension::of(ctx).unwrap_or_else(|| {
        Arc::new(FileStateStore::new(
            state_file.unwrap_or(DEFAULT_STATE_FILE),
            "state_file",
        ))
    })
}
