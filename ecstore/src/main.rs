//! ecstore: a small Dynamo-style eventually consistent store, rift's embedded demo target, whose
//! flaws (wall-clock last-write-wins, R=1 reads, no anti-entropy) are switches.
//!
//! Not built yet: this binary only marks its place in the workspace.

fn main() -> std::process::ExitCode {
    eprintln!("ecstore: not built yet in this version of rift");
    std::process::ExitCode::from(2)
}
