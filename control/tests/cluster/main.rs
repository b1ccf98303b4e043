//! The local cluster and SSH against real sshd processes in real network namespaces.
//!
//! These need root and network namespaces. Elsewhere they skip, saying why; under CI=true a
//! skip is a failure, so CI can never pass without running them.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;
mod host_keys;
mod iptables;
mod literal_arguments;
mod parallel_and_files;
mod restart;
mod sudo;
mod teardown;
