//! Reports as people see them: `rift check` writes report.html, summary.md and junit.xml;
//! `rift report` renders them again the same; and a real browser (headless Chromium) loads
//! `rift serve`'s run list and a report, and the rendered page shows the verdict, an anomaly
//! and a plot. The browser part skips, saying why, where Chromium is absent (CI installs it).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn rift() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rift"))
}

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../samples")
        .join(name)
}

/// A checked run with a lost element, in `dir/results`; its run directory.
fn invalid_run(dir: &Path) -> PathBuf {
    let out = rift()
        .current_dir(dir)
        .args([
            "check",
            sample("set-lost.edn").to_str().unwrap(),
            "-w",
            "set",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("report: results/"), "{stdout}");
    std::fs::canonicalize(dir.join("results/latest")).unwrap()
}

#[test]
fn check_writes_the_reports_and_rift_report_renders_them_again_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let run = invalid_run(dir.path());
    let read = |f: &str| std::fs::read_to_string(run.join(f)).unwrap();
    let (html, md, junit) = (read("report.html"), read("summary.md"), read("junit.xml"));
    assert!(html.contains("banner invalid"));
    assert!(md.contains("| set | lost | 1 |"), "{md}");
    assert!(junit.contains("<failure message="), "{junit}");
    for f in ["report.html", "summary.md", "junit.xml"] {
        std::fs::remove_file(run.join(f)).unwrap();
    }
    let out = rift().arg("report").arg(&run).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        read("report.html"),
        html,
        "the same history renders the same report"
    );
    assert_eq!(read("summary.md"), md);
    assert_eq!(read("junit.xml"), junit);
}

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|p| p.join(name))
                    .find(|p| p.is_file())
            })
        })
}

struct Serve(Child);
impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The DOM a headless Chromium renders for a URL.
fn dom(browser: &Path, profile: &Path, url: &str, screenshot: Option<&Path>) -> String {
    let mut c = Command::new(browser);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    if let Some(shot) = screenshot {
        c.arg(format!("--screenshot={}", shot.display()))
            .arg("--window-size=1200,2400");
    } else {
        c.arg("--dump-dom");
    }
    let out = c.arg(url).stderr(Stdio::null()).output().unwrap();
    assert!(out.status.success(), "chromium failed on {url}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_browser_shows_the_run_list_and_a_report_with_verdict_anomaly_and_plot() {
    let Some(browser) = chromium() else {
        if std::env::var_os("CI").is_some() {
            panic!("Chromium is missing under CI=true: .ci/run installs it");
        }
        eprintln!("skipped: no Chromium here (Debian package `chromium`)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let run = invalid_run(dir.path());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _serve = Serve(
        rift()
            .current_dir(dir.path())
            .args(["serve", "--port", &port.to_string()])
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "rift serve never listened");
        std::thread::sleep(Duration::from_millis(50));
    }
    let profile = dir.path().join("chromium-profile");
    let base = format!("http://127.0.0.1:{port}");

    let list = dom(&browser, &profile, &format!("{base}/"), None);
    assert!(list.contains("rift runs"), "{list}");
    assert!(list.contains("check-set-lost"), "{list}");
    assert!(list.contains("v-invalid"), "{list}");
    let rel = format!(
        "check-set-lost/{}",
        run.file_name().unwrap().to_string_lossy()
    );
    assert!(list.contains(&format!("/runs/{rel}/report.html")), "{list}");

    let url = format!("{base}/runs/{rel}/report.html");
    let page = dom(&browser, &profile, &url, None);
    assert!(page.contains("class=\"banner invalid\""), "verdict");
    assert!(page.contains("set · lost"), "anomaly");
    assert!(page.contains("does not hold it"), "its explanation");
    assert!(page.contains("<svg"), "a plot");
    assert!(
        page.contains("latency by function and outcome"),
        "the latency plot"
    );

    // A screenshot kept with the test output.
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("rift-report.png");
    let _ = std::fs::remove_file(&shot);
    dom(&browser, &profile, &url, Some(&shot));
    let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(
        size > 10_000,
        "screenshot {} is {size} bytes",
        shot.display()
    );
    println!("screenshot: {}", shot.display());
}
