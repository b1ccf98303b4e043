//! Builds rift's per-process clock library (clock/rift_clock.c) into a shared object that the
//! crate embeds, so the one `rift` binary can install it on any node.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let source = "clock/rift_clock.c";
    let helper_source = "clock/rift_setclock.c";
    println!("cargo::rerun-if-changed={source}");
    println!("cargo::rerun-if-changed={helper_source}");
    println!("cargo::rerun-if-env-changed=CC");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let library = out.join("librift_clock.so");
    let helper = out.join("rift-setclock");
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if arch != "x86_64" || os != "linux" {
        // Nothing to embed: the clock nemesis says so when asked for per-process skew.
        std::fs::write(&library, b"").expect("OUT_DIR is writable");
        std::fs::write(&helper, b"").expect("OUT_DIR is writable");
        return;
    }
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(&cc)
        .args([
            "-shared",
            "-fPIC",
            "-O2",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-fno-stack-protector",
            "-o",
        ])
        .arg(&library)
        .arg(source)
        .status();
    check(&cc, source, status);
    // Static where the C library allows it, so the helper runs on any Linux host.
    let status = Command::new(&cc)
        .args(["-O2", "-Wall", "-Wextra", "-Werror", "-static", "-o"])
        .arg(&helper)
        .arg(helper_source)
        .status();
    let status = match status {
        Ok(s) if s.success() => Ok(s),
        _ => Command::new(&cc)
            .args(["-O2", "-Wall", "-Wextra", "-Werror", "-o"])
            .arg(&helper)
            .arg(helper_source)
            .status(),
    };
    check(&cc, helper_source, status);
}

fn check(cc: &str, source: &str, status: std::io::Result<std::process::ExitStatus>) {
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("{cc} could not build {source} ({s})"),
        Err(e) => panic!("building {source} needs a C compiler ({cc}): {e}; install gcc"),
    }
}
