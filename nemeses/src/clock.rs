//! Per-process clock skew.
//!
//! Nodes that share a kernel (the local cluster, containers) cannot have their system clocks
//! set apart, so rift skews the store's process instead: `librift_clock.so` (built from
//! `clock/rift_clock.c` and embedded here) is preloaded into it, and offsets its realtime clock
//! by the nanoseconds in an offset file that rift rewrites to bump, strobe or reset the clock
//! while the process runs. It works for programs that call libc and for those that read the
//! clock through the vDSO themselves (Go), because it patches the vDSO.

use std::io;
use std::path::{Path, PathBuf};

/// The library, as built for this target (empty where per-process skew is not supported).
pub const LIBRARY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/librift_clock.so"));
pub const LIBRARY_NAME: &str = "librift_clock.so";
/// The environment variable naming the offset file.
pub const OFFSET_ENV: &str = "RIFT_CLOCK_OFFSET_FILE";

/// Whether this build can skew processes' clocks.
pub fn supported() -> bool {
    !LIBRARY.is_empty()
}

/// Writes the library into `dir` and returns its path.
pub fn install_library(dir: &Path) -> io::Result<PathBuf> {
    if !supported() {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "per-process clock skew needs x86-64 Linux",
        ));
    }
    std::fs::create_dir_all(dir)?;
    let path = dir.join(LIBRARY_NAME);
    std::fs::write(&path, LIBRARY)?;
    Ok(path)
}

/// The text of an offset file for a signed offset in nanoseconds.
pub fn offset_text(offset_ns: i64) -> String {
    format!("{offset_ns}\n")
}

/// Sets a process's offset by rewriting its file atomically (it is read while being replaced).
pub fn write_offset(file: &Path, offset_ns: i64) -> io::Result<()> {
    let tmp = file.with_extension("tmp");
    std::fs::write(&tmp, offset_text(offset_ns))?;
    std::fs::rename(tmp, file)
}

/// The `system` strategy's helper (`rift-setclock DELTA_NS`), for dedicated hosts.
pub const SYSTEM_HELPER: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/rift-setclock"));
pub const SYSTEM_HELPER_NAME: &str = "rift-setclock";

/// Stops whichever NTP daemons are running (they would undo a skew), printing the names of
/// those it stopped, so that healing can start them again.
pub const STOP_NTP: &str = "for s in systemd-timesyncd chrony chronyd ntp ntpd openntpd; do \
    if systemctl is-active --quiet \"$s\" 2>/dev/null; then systemctl stop \"$s\" && echo \"$s\"; fi; done; true";

/// The delta that undoes everything the `system` strategy did to a host's clock.
pub fn undo_delta(applied_ns: i64) -> Option<i64> {
    (applied_ns != 0).then_some(-applied_ns)
}
