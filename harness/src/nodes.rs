//! From `--nodes`, `--nodes-file` or `--local` to an inventory.

use crate::cli::NodeArgs;
use crate::exit::usage;
use anyhow::Result;
use control::cluster::StateDir;
use control::nodes::{self, Defaults, HostKeyPolicy, Inventory};

pub fn inventory(args: &NodeArgs) -> Result<Inventory> {
    let mut defaults = Defaults::standard();
    if let Some(user) = &args.username {
        defaults.user = user.clone();
    }
    if let Some(key) = &args.ssh_private_key {
        defaults.private_key = key.clone();
    }
    if let Some(known) = &args.known_hosts {
        defaults.known_hosts = known.clone();
    }
    if args.accept_new_host_keys {
        defaults.host_keys = HostKeyPolicy::AcceptNew;
    }
    let inventory = if let Some(list) = &args.nodes {
        nodes::from_list(list, &defaults)
    } else if let Some(file) = &args.nodes_file {
        nodes::load_nodes_file(file, &defaults)
    } else if args.local {
        let dir = StateDir(args.cluster_state_dir.clone());
        if !dir.nodes_file().exists() {
            return Err(usage(format!(
                "no local cluster is up (no {}); make one with `rift cluster up`",
                dir.nodes_file().display()
            )));
        }
        nodes::load_nodes_file(&dir.nodes_file(), &defaults)
    } else {
        return Err(usage(
            "say which nodes: --nodes a,b,c, --nodes-file FILE, or --local",
        ));
    };
    inventory.map_err(|e| usage(e.to_string()))
}
