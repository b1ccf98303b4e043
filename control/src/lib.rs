//! Reaching nodes: the `Remote` trait (exec, upload, download, sudo), its SSH implementation
//! with pooled sessions and pinned host keys, shell escaping, and the local cluster (one network
//! namespace per node, each running its own sshd).
//!
//! Not built yet: this crate only marks its place in the workspace.
