//! Views of a module: read-only functions that SQL reads as tables. [`LoadedModule::call_view`]
//! runs one on a snapshot the caller chose (the query's, `AS OF TX` included), as the caller,
//! and checks every row it answers against the view's declared columns.

use cosmictron_engine::Snapshot;
use cosmictron_types::{Identity, Value, ViewSpec, decode_view_rows};

use crate::call::{Args, Authority, CALL_OK, CallContext, CallInput, failed_call, now};
use crate::call_tx::CallTx;
use crate::error::{HostError, Result};
use crate::module::LoadedModule;

impl LoadedModule {
    /// The module's views: (name, columns and visibility).
    pub fn views(&self) -> impl Iterator<Item = (&str, &ViewSpec)> {
        self.def().views().map(|(r, v)| (r.name.as_str(), v))
    }

    /// The view named `name` (exactly; SQL resolves case before calling).
    pub fn view(&self, name: &str) -> Option<&ViewSpec> {
        self.def()
            .views()
            .find(|(r, _)| r.name == name)
            .map(|(_, v)| v)
    }

    /// Runs view `name` on `snapshot` with `ctx.sender` = `caller`, and returns its rows.
    /// Like a read-only HTTP handler it never takes the writer and waits for a reader slot
    /// (one per CPU); any write it tries fails with `read_only`. Every limit of a call applies
    /// (time, memory, the size of the answer); rows that do not match the declared columns
    /// are an `abi_violation`.
    pub fn call_view(
        &self,
        snapshot: Snapshot,
        name: &str,
        caller: Identity,
    ) -> Result<Vec<Vec<Value>>> {
        let (id, def) = self
            .def()
            .reducer(name)
            .filter(|(_, r)| r.view.is_some())
            .ok_or_else(|| HostError::NoSuchView(name.to_owned()))?;
        let Some(spec) = &def.view else {
            return Err(HostError::NoSuchView(name.to_owned()));
        };
        let authority = Authority::Client(CallContext::new(caller));
        let no_args = serde_json::Value::Null;
        let input = CallInput {
            authority,
            timestamp: now(),
            args: Args::Json(&no_args),
        };
        let _slot = self.reader_slots.take();
        let (_, status, result) = self.guest_call(CallTx::Read(snapshot), id, input)?;
        if status != CALL_OK {
            return Err(failed_call(status, &result));
        }
        decode_view_rows(&spec.columns, &result).map_err(|e| {
            HostError::AbiViolation(format!(
                "view `{name}` answered rows that do not match its columns: {e}"
            ))
        })
    }
}
