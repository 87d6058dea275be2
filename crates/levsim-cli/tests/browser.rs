//! The report as a person sees it: `index.html` of shipped scenarios opened
//! in headless Chromium (Debian's `chromium`, which `.ci/run` installs; or
//! the browser named by `LEVSIM_CHROMIUM`), driven over the DevTools
//! protocol. After the load event it checks that every image and inline SVG
//! is present and non-empty, that no resource failed to load and nothing
//! was logged as an error, and that the summary table has a row per policy
//! point; it saves a full-page screenshot, and one per section, in
//! `browser/` under Cargo's temporary directory for integration tests
//! (`CARGO_TARGET_TMPDIR`, `target/tmp` by default).
//!
//! The DevTools client is the few calls the test needs, over a WebSocket
//! (tungstenite): the `headless_chrome` crate generates its protocol
//! bindings by downloading the protocol at build time, which a machine
//! without network cannot do.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};
use tungstenite::{stream::MaybeTlsStream, Message, WebSocket};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("LEVSIM_CHROMIUM") {
        return PathBuf::from(p);
    }
    for p in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if Path::new(p).exists() {
            return PathBuf::from(p);
        }
    }
    panic!(
        "no Chromium found: install Debian's `chromium` package (.ci/run does) or set LEVSIM_CHROMIUM"
    );
}

/// A running browser, killed on drop.
struct Browser {
    child: Child,
    _profile: tempfile::TempDir,
    ws_url: String,
}

impl Browser {
    fn launch() -> Self {
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new(chromium())
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-quic",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-port=0",
                "--window-size=1280,1600",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Chromium prints its DevTools endpoint on stderr; the rest of
        // stderr is drained on a thread so the browser never blocks on it.
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("DevTools listening on ") {
                    let _ = tx.send(url.trim().to_string());
                }
            }
        });
        let ws_url = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("Chromium did not print its DevTools endpoint within 60 s");
        Self {
            child,
            _profile: profile,
            ws_url,
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The DevTools calls the test needs, on one page session.
struct Cdp {
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    next: u64,
    session: Option<String>,
    events: Vec<Value>,
}

impl Cdp {
    fn connect(url: &str) -> Self {
        let (ws, _) = tungstenite::connect(url).unwrap();
        if let MaybeTlsStream::Plain(s) = ws.get_ref() {
            s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
        }
        Self {
            ws,
            next: 1,
            session: None,
            events: Vec::new(),
        }
    }

    fn read(&mut self) -> Value {
        loop {
            match self.ws.read().unwrap() {
                Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
                Message::Close(_) => panic!("DevTools connection closed"),
                _ => continue,
            }
        }
    }

    /// Sends a command and waits for its answer, keeping events.
    fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next;
        self.next += 1;
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if let Some(s) = &self.session {
            msg["sessionId"] = Value::String(s.clone());
        }
        self.ws.send(Message::text(msg.to_string())).unwrap();
        loop {
            let v = self.read();
            if v["id"].as_u64() == Some(id) {
                assert!(v["error"].is_null(), "{method}: {}", v["error"]);
                return v["result"].clone();
            }
            self.events.push(v);
        }
    }

    /// Waits for an event by name (or returns one already seen).
    fn wait_for(&mut self, method: &str, timeout: Duration) -> Value {
        if let Some(e) = self.events.iter().find(|e| e["method"] == method) {
            return e.clone();
        }
        let t0 = Instant::now();
        loop {
            assert!(t0.elapsed() < timeout, "no {method} within {timeout:?}");
            let v = self.read();
            let hit = v["method"] == method;
            self.events.push(v.clone());
            if hit {
                return v;
            }
        }
    }
}

/// Runs `levsim run` on a shipped scenario into a temporary directory.
fn report(scenario: &str, out: &Path) -> PathBuf {
    let o = Command::new(env!("CARGO_BIN_EXE_levsim"))
        .args(["run", &format!("scenarios/{scenario}.toml"), "--out"])
        .arg(out)
        .current_dir(root())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out.join("index.html")
}

/// What the page reports about itself once loaded.
const PROBE: &str = r#"(() => {
  const imgs = [...document.images].map(i => ({src: i.src, ok: i.complete && i.naturalWidth > 0}));
  const svgs = [...document.querySelectorAll('svg')].map(s => {
    const r = s.getBoundingClientRect();
    return {w: r.width, h: r.height, nodes: s.querySelectorAll('*').length};
  });
  const summary = document.querySelector('#summary ~ table');
  const rows = summary ? summary.querySelectorAll('tbody tr').length : -1;
  const firstCells = summary ? [...summary.querySelectorAll('tbody tr td:first-child')].map(td => td.textContent) : [];
  const answer = document.querySelector('.answer');
  const answerTop = answer ? answer.getBoundingClientRect().top : -1;
  const ids = ['summary', 'market', 'policies', 'runs', 'reproduce'].filter(id => !document.getElementById(id));
  const sections = [...document.querySelectorAll('h2[id]')].map(h => ({id: h.id, y: h.getBoundingClientRect().top + window.scrollY}));
  const height = document.documentElement.scrollHeight;
  const width = document.documentElement.scrollWidth;
  return {imgs, svgs, rows, firstCells, answerTop, missingIds: ids, title: document.title, sections, height, width};
})()"#;

fn check(scenario: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let index = report(scenario, &tmp.path().join("report"));
    let summary: Value = serde_json::from_str(
        &std::fs::read_to_string(index.with_file_name("summary.json")).unwrap(),
    )
    .unwrap();
    let points: Vec<String> = summary["aggregates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["point_id"].as_str().unwrap().to_string())
        .collect();

    let browser = Browser::launch();
    let mut cdp = Cdp::connect(&browser.ws_url);
    let target = cdp.call("Target.createTarget", json!({ "url": "about:blank" }));
    let session = cdp.call(
        "Target.attachToTarget",
        json!({ "targetId": target["targetId"], "flatten": true }),
    );
    cdp.session = Some(session["sessionId"].as_str().unwrap().to_string());
    for domain in ["Page", "Runtime", "Log", "Network"] {
        cdp.call(&format!("{domain}.enable"), json!({}));
    }
    let url = format!("file://{}", index.canonicalize().unwrap().display());
    let nav = cdp.call("Page.navigate", json!({ "url": url }));
    assert!(
        nav["errorText"].is_null(),
        "{scenario}: {}",
        nav["errorText"]
    );
    cdp.wait_for("Page.loadEventFired", Duration::from_secs(60));
    let probe = cdp.call(
        "Runtime.evaluate",
        json!({ "expression": PROBE, "returnByValue": true }),
    )["result"]["value"]
        .clone();

    // The screenshot: the whole page, kept as the test's artifact.
    let shot = cdp.call(
        "Page.captureScreenshot",
        json!({ "format": "png", "captureBeyondViewport": true }),
    );
    let png = base64::engine::general_purpose::STANDARD
        .decode(shot["data"].as_str().unwrap())
        .unwrap();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&dir).unwrap();
    let shot_path = dir.join(format!("{scenario}.png"));
    std::fs::write(&shot_path, &png).unwrap();
    eprintln!("{scenario}: screenshot {}", shot_path.display());
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 50_000,
        "{scenario}: screenshot"
    );
    // One picture per section too (a page is too tall to read in one).
    let secs = probe["sections"].as_array().unwrap().clone();
    let height = probe["height"].as_f64().unwrap();
    let width = probe["width"].as_f64().unwrap();
    for (k, s) in secs.iter().enumerate() {
        let y = s["y"].as_f64().unwrap();
        let end = secs.get(k + 1).map_or(height, |n| n["y"].as_f64().unwrap());
        let shot = cdp.call(
            "Page.captureScreenshot",
            json!({ "format": "png", "captureBeyondViewport": true,
                    "clip": { "x": 0, "y": y, "width": width, "height": (end - y).clamp(1.0, 2400.0), "scale": 1 } }),
        );
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        std::fs::write(
            dir.join(format!("{scenario}-{}.png", s["id"].as_str().unwrap())),
            png,
        )
        .unwrap();
    }

    // Nothing failed and nothing complained.
    let problems: Vec<String> = cdp
        .events
        .iter()
        .filter_map(|e| {
            let p = &e["params"];
            match e["method"].as_str()? {
                "Network.loadingFailed" => Some(format!("load failed: {}", p["errorText"])),
                "Runtime.exceptionThrown" => Some(format!("exception: {}", p["exceptionDetails"])),
                "Runtime.consoleAPICalled" if p["type"] == "error" || p["type"] == "warning" => {
                    Some(format!("console {}: {}", p["type"], p["args"]))
                }
                "Log.entryAdded" if p["entry"]["level"] == "error" => {
                    Some(format!("log: {}", p["entry"]["text"]))
                }
                _ => None,
            }
        })
        .collect();
    assert!(problems.is_empty(), "{scenario}: {problems:#?}");

    // Every image loaded; every inline SVG is drawn and has content.
    for img in probe["imgs"].as_array().unwrap() {
        assert_eq!(img["ok"], true, "{scenario}: image {}", img["src"]);
    }
    let svgs = probe["svgs"].as_array().unwrap();
    assert!(svgs.len() >= 3, "{scenario}: {} inline SVGs", svgs.len());
    for (i, s) in svgs.iter().enumerate() {
        assert!(
            s["w"].as_f64().unwrap() > 100.0
                && s["h"].as_f64().unwrap() > 100.0
                && s["nodes"].as_u64().unwrap() > 20,
            "{scenario}: SVG {i} is empty or collapsed: {s}"
        );
    }
    // The summary table: a row per policy point, in order; the answer on
    // the first screen; every section anchor present.
    let cells: Vec<String> = probe["firstCells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert_eq!(cells, points, "{scenario}: summary rows");
    let top = probe["answerTop"].as_f64().unwrap();
    assert!(
        (0.0..1600.0).contains(&top),
        "{scenario}: the answer starts at {top}px, below the first screen"
    );
    assert_eq!(probe["missingIds"], json!([]), "{scenario}: anchors");
    assert_eq!(probe["title"], format!("levsim: {scenario}"));
}

#[test]
fn monte_carlo_report_renders_in_chromium() {
    check("gbm-stress-7d");
}

#[test]
fn cascade_report_renders_in_chromium() {
    check("black-thursday-2020-cascade");
}
