//! Compiler messages of the macros: every misuse in `ui-tests/fail/*.rs` must fail with the
//! error in its `.stderr`, at the offending token; every form in `ui-tests/pass/*.rs` must
//! compile. Regenerate the expectations with `TRYBUILD=overwrite cargo test --test ui` and
//! read each one.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("ui-tests/pass/*.rs");
    t.compile_fail("ui-tests/fail/*.rs");
}
