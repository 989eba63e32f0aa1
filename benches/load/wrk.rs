//! One `wrk` run: a Lua script with the request and a body check, and the machine-readable
//! line its `done()` prints.

use std::{ffi::OsStr, path::Path, process::Command, time::Duration};

/// What one run measured.
#[derive(Debug, Clone, Copy, Default)]
pub struct Measured {
    pub requests: u64,
    pub rps: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    /// Socket errors, timeouts, non-2xx statuses and bodies without the expected answer.
    pub errors: u64,
}

/// The request every connection sends, and two strings a correct answer contains.
pub struct Spec<'a> {
    pub url: &'a str,
    pub headers: &'a [(&'a str, String)],
    pub body: &'a str,
    pub expect: [&'a str; 2],
}

fn lua_string(s: &str) -> String {
    assert!(!s.contains("]==]"), "cannot quote {s:?}");
    format!("[==[{s}]==]")
}

fn script(spec: &Spec<'_>) -> String {
    let mut lua = String::from("wrk.method = \"POST\"\n");
    lua.push_str(&format!("wrk.body = {}\n", lua_string(spec.body)));
    for (name, value) in spec.headers {
        lua.push_str(&format!(
            "wrk.headers[\"{name}\"] = {}\n",
            lua_string(value)
        ));
    }
    lua.push_str(&format!(
        r#"
local expect1, expect2 = {}, {}
local threads = {{}}
function setup(thread) table.insert(threads, thread) end
function init(args) bad = 0 end
function response(status, headers, body)
  if status == 200 and not (string.find(body, expect1, 1, true) and string.find(body, expect2, 1, true)) then
    bad = bad + 1
  end
end
function done(summary, latency, requests)
  local b = 0
  for _, t in ipairs(threads) do b = b + (t:get("bad") or 0) end
  local e = summary.errors
  io.write(string.format("RESULT %.0f %.0f %.0f %.0f %.0f %.0f\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout, b))
end
"#,
        lua_string(spec.expect[0]),
        lua_string(spec.expect[1]),
    ));
    lua
}

/// A command for `program`, on CPU `cpu` only (every thread) when one is given (`taskset`).
pub fn command(program: impl AsRef<OsStr>, cpu: Option<usize>) -> Command {
    match cpu {
        Some(cpu) => {
            let mut c = Command::new("taskset");
            c.args(["-c", &cpu.to_string()]).arg(program);
            c
        }
        None => Command::new(program),
    }
}

/// Run `wrk` for `duration` at `connections`, with the script written under `dir`, on CPU
/// `cpu` if one is given.
pub fn run(
    spec: &Spec<'_>,
    connections: usize,
    duration: Duration,
    dir: &Path,
    cpu: Option<usize>,
) -> anyhow::Result<Measured> {
    let path = dir.join("request.lua");
    std::fs::write(&path, script(spec))?;
    let out = command("wrk", cpu)
        .arg("-t1")
        .arg(format!("-c{connections}"))
        .arg(format!("-d{}s", duration.as_secs().max(1)))
        .args(["--timeout", "10s", "-s"])
        .arg(&path)
        .arg(spec.url)
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run wrk ({e}); scripts/bench.sh installs it"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .ok_or_else(|| {
            anyhow::anyhow!(
                "wrk printed no result: {stdout}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
    let v: Vec<f64> = line
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(f64::NAN))
        .collect();
    anyhow::ensure!(v.len() == 6, "unexpected wrk result line: {line}");
    let (requests, duration_us) = (v[0], v[1]);
    Ok(Measured {
        requests: requests as u64,
        rps: if duration_us > 0.0 {
            requests / (duration_us / 1e6)
        } else {
            0.0
        },
        p50_us: v[2],
        p99_us: v[3],
        errors: (v[4] + v[5]) as u64,
    })
}
