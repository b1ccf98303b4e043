//! The per-process clock library on real programs: libc callers, a program that calls the vDSO
//! directly (as Go does), a long-running process whose offset changes, and monotonic clocks.
#![allow(clippy::unwrap_used)]

use nemeses::clock;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const DAY_NS: i64 = 86_400_000_000_000;

fn now_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

struct Setup {
    dir: tempfile::TempDir,
    library: PathBuf,
    offset: PathBuf,
}

fn setup() -> Option<Setup> {
    if !clock::supported() {
        eprintln!("SKIPPED: per-process clock skew needs x86-64 Linux");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let library = clock::install_library(dir.path()).unwrap();
    let offset = dir.path().join("offset");
    Some(Setup {
        dir,
        library,
        offset,
    })
}

fn skewed(s: &Setup, program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut c = Command::new(program);
    c.env("LD_PRELOAD", &s.library)
        .env(clock::OFFSET_ENV, &s.offset);
    c
}

fn stdout(c: &mut Command) -> String {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_libc_program_sees_the_offset_and_only_with_the_file() {
    let Some(s) = setup() else { return };
    clock::write_offset(&s.offset, DAY_NS).unwrap();
    let seen: f64 = stdout(skewed(&s, "date").arg("+%s"))
        .trim()
        .parse()
        .unwrap();
    assert!((seen - now_s() - 86_400.0).abs() < 5.0, "date saw {seen}");

    clock::write_offset(&s.offset, -DAY_NS).unwrap();
    let seen: f64 = stdout(skewed(&s, "date").arg("+%s"))
        .trim()
        .parse()
        .unwrap();
    assert!((seen - now_s() + 86_400.0).abs() < 5.0, "date saw {seen}");

    std::fs::remove_file(&s.offset).unwrap();
    let seen: f64 = stdout(skewed(&s, "date").arg("+%s"))
        .trim()
        .parse()
        .unwrap();
    assert!((seen - now_s()).abs() < 5.0, "no file, no offset: {seen}");
    // Without the environment variable the library does nothing at all.
    let seen: f64 = stdout(
        Command::new("date")
            .arg("+%s")
            .env("LD_PRELOAD", &s.library),
    )
    .trim()
    .parse()
    .unwrap();
    assert!((seen - now_s()).abs() < 5.0);
}

/// Calls the vDSO's own clock_gettime, found as Go finds it (not through libc's symbol).
const VDSO_PROGRAM: &str = r#"
#include <dlfcn.h>
#include <stdio.h>
#include <time.h>
int main(void) {
    void *vdso = dlopen("linux-vdso.so.1", RTLD_LAZY | RTLD_NOLOAD);
    if (!vdso) { fprintf(stderr, "no vdso handle\n"); return 2; }
    int (*vgettime)(clockid_t, struct timespec *) = (int (*)(clockid_t, struct timespec *))dlsym(vdso, "__vdso_clock_gettime");
    if (!vgettime) { fprintf(stderr, "no __vdso_clock_gettime\n"); return 2; }
    struct timespec r, m;
    vgettime(CLOCK_REALTIME, &r);
    vgettime(CLOCK_MONOTONIC, &m);
    printf("%ld %ld\n", (long)r.tv_sec, (long)m.tv_sec);
    return 0;
}
"#;

fn compile(dir: &Path, source: &str) -> PathBuf {
    let c = dir.join("prog.c");
    let exe = dir.join("prog");
    std::fs::write(&c, source).unwrap();
    let status = Command::new("cc")
        .arg(&c)
        .arg("-o")
        .arg(&exe)
        .arg("-ldl")
        .status()
        .unwrap();
    assert!(status.success());
    exe
}

#[test]
fn a_program_calling_the_vdso_directly_is_skewed_but_its_monotonic_clock_is_not() {
    let Some(s) = setup() else { return };
    let exe = compile(s.dir.path(), VDSO_PROGRAM);
    let plain = stdout(&mut Command::new(&exe));
    clock::write_offset(&s.offset, DAY_NS).unwrap();
    let shifted = stdout(&mut skewed(&s, &exe));
    let parse =
        |t: &str| -> Vec<i64> { t.split_whitespace().map(|x| x.parse().unwrap()).collect() };
    let (p, k) = (parse(&plain), parse(&shifted));
    assert!(
        (k[0] - p[0] - 86_400).abs() <= 5,
        "realtime through the vDSO: {plain} vs {shifted}"
    );
    assert!(
        (k[1] - p[1]).abs() <= 5,
        "monotonic untouched: {plain} vs {shifted}"
    );
}

#[test]
fn a_running_process_follows_the_offset_file_as_it_changes() {
    let Some(s) = setup() else { return };
    clock::write_offset(&s.offset, 0).unwrap();
    let mut child = skewed(&s, "python3")
        .args(["-u", "-c", "import time\nfor _ in range(60):\n    print(time.time(), flush=True)\n    time.sleep(0.02)"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap());
    let mut before = Vec::new();
    let mut after = Vec::new();
    let start = std::time::Instant::now();
    let mut bumped = false;
    for line in lines.lines() {
        let seen: f64 = line.unwrap().parse().unwrap();
        let skew = seen - now_s();
        if !bumped && start.elapsed() > Duration::from_millis(300) {
            clock::write_offset(&s.offset, 30_000_000_000).unwrap(); // +30 s
            bumped = true;
        } else if bumped {
            after.push(skew);
        } else {
            before.push(skew);
        }
    }
    child.wait().unwrap();
    assert!(before.iter().all(|d| d.abs() < 1.0), "{before:?}");
    // Within a few lines (10 ms recheck, 20 ms between lines) the new offset shows.
    assert!(after.len() > 10);
    assert!(
        after[3..].iter().all(|d| (d - 30.0).abs() < 1.0),
        "{after:?}"
    );
}

/// Runs a server under the library until dropped.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn installed(program: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{program} must be installed in CI"
        );
        eprintln!("SKIPPED: {program} is not installed (apt-get install redis-server etcd-server)");
    }
    found
}

fn wait_for(mut ready: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !ready() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the server never answered"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn redis_server_built_with_jemalloc_runs_skewed_and_follows_changes() {
    let Some(s) = setup() else { return };
    if !installed("redis-server") {
        return;
    }
    clock::write_offset(&s.offset, 3_600_000_000_000).unwrap(); // +1 h
    let port = "7391";
    let _server = Server(
        skewed(&s, "redis-server")
            .args([
                "--port",
                port,
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
            ])
            .arg(s.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let time = || -> Option<f64> {
        let out = Command::new("redis-cli")
            .args(["-p", port, "TIME"])
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
    };
    wait_for(|| time().is_some());
    let skew = time().unwrap() - now_s();
    assert!((skew - 3600.0).abs() < 5.0, "redis TIME is {skew} s off");
    clock::write_offset(&s.offset, -120_000_000_000).unwrap(); // now 2 min behind
    std::thread::sleep(Duration::from_millis(50));
    let skew = time().unwrap() - now_s();
    assert!(
        (skew + 120.0).abs() < 5.0,
        "redis TIME is {skew} s off after the change"
    );
}

#[test]
fn etcd_a_go_program_reading_the_vdso_runs_skewed() {
    let Some(s) = setup() else { return };
    if !installed("etcd") {
        return;
    }
    clock::write_offset(&s.offset, 7_200_000_000_000).unwrap(); // +2 h
    let _server = Server(
        skewed(&s, "etcd")
            .arg("--data-dir")
            .arg(s.dir.path().join("etcd"))
            .args([
                "--listen-client-urls",
                "http://127.0.0.1:23791",
                "--advertise-client-urls",
                "http://127.0.0.1:23791",
                "--listen-peer-urls",
                "http://127.0.0.1:23792",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // The HTTP Date header comes from Go's time.Now().
    let date = || -> Option<f64> {
        let out = Command::new("python3")
            .args(["-c", "import urllib.request,email.utils as u; r=urllib.request.urlopen('http://127.0.0.1:23791/version', timeout=2); print(u.parsedate_to_datetime(r.headers['Date']).timestamp())"])
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    };
    wait_for(|| date().is_some());
    let skew = date().unwrap() - now_s();
    assert!(
        (skew - 7200.0).abs() < 5.0,
        "etcd's Date header is {skew} s off"
    );
}
