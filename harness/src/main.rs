//! `rift`: a fault-injection test harness for replicated data stores.
//!
//! `main` runs the command line with the built-in stores; the work is in the library.

fn main() -> std::process::ExitCode {
    harness::main()
}
