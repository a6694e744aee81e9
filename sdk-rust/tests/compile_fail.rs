//! Misuse of the `#[table]`, `#[reducer]` and `#[view]` macros fails to compile with a message that says
//! what to write instead. Each case in `tests/compile_fail/` has its expected compiler output
//! beside it (`.stderr`); regenerate them with `TRYBUILD=overwrite cargo test -p
//! cosmictron-sdk --test compile_fail` after a deliberate change to a message.

#[test]
fn macro_misuse_has_readable_errors() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/compile_fail/*.rs");
}
