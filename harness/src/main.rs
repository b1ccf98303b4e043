//! `rift`: a fault-injection test harness for replicated data stores.
//!
//! `main` runs the command line with the built-in stores; the work is in the library.

/// mimalloc: ops are made on one thread and dropped on others, which it handles well.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    harness::main()
}
