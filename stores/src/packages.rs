//! Debian packages a store needs on its nodes: installed with apt over the node's `Remote`
//! when a command is missing, saying so on the controller's stderr.

use control::{Cmd, Remote, RemoteError};
use std::time::Duration;

/// Makes sure each `(command, package)` is there on `node`, installing the missing packages.
pub async fn ensure(node: &dyn Remote, needed: &[(&str, &str)]) -> Result<(), RemoteError> {
    let mut missing = Vec::new();
    for (command, package) in needed {
        let found = node
            .exec(&Cmd::script(format!(
                "command -v {} >/dev/null 2>&1",
                control::shell::quote(command)
            )))
            .await?;
        if !found.success() && !missing.contains(package) {
            missing.push(*package);
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!(
        "rift: {}: installing missing Debian packages with apt: {}",
        node.node().name,
        missing.join(" ")
    );
    // Nodes sharing one machine (the local cluster) share dpkg's lock: wait for it. Service
    // starts are refused, so the packages' own units do not start a second server.
    let script = format!(
        "export DEBIAN_FRONTEND=noninteractive; \
         printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d.rift && chmod +x /usr/sbin/policy-rc.d.rift; \
         [ -e /usr/sbin/policy-rc.d ] || cp /usr/sbin/policy-rc.d.rift /usr/sbin/policy-rc.d; \
         (apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends {pkgs} || \
          (apt-get -o DPkg::Lock::Timeout=300 update -q && apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends {pkgs})); \
         s=$?; cmp -s /usr/sbin/policy-rc.d /usr/sbin/policy-rc.d.rift && rm -f /usr/sbin/policy-rc.d; rm -f /usr/sbin/policy-rc.d.rift; exit $s",
        pkgs = missing.join(" ")
    );
    node.run(&Cmd::script(script).sudo().timeout(Duration::from_secs(600)))
        .await?;
    Ok(())
}
