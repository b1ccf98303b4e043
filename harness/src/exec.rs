//! `rift exec`: one command on every node at once.

use crate::cli::ExecArgs;
use crate::exit::Exit;
use anyhow::Result;
use control::{Cmd, Remote};
use std::time::{Duration, Instant};

pub fn run(args: ExecArgs) -> Result<Exit> {
    let inventory = crate::nodes::inventory(&args.nodes)?;
    let remotes = control::connect_all(&inventory)?;
    let mut cmd = Cmd::new(&args.command[0])
        .args(&args.command[1..])
        .timeout(Duration::from_secs(args.timeout));
    if args.sudo {
        cmd = cmd.sudo();
    }
    let runtime = tokio::runtime::Runtime::new()?;
    let results = runtime.block_on(control::on_each(&remotes, move |r| {
        let cmd = cmd.clone();
        async move {
            let start = Instant::now();
            let out = r.exec(&cmd).await?;
            Ok((out, start.elapsed()))
        }
    }));
    let mut all_ok = true;
    for (node, result) in results {
        match result {
            Ok((out, took)) => {
                all_ok &= out.success();
                crate::say!("── {node}: {} ({} ms)", out.describe(), took.as_millis());
                print_indented("", &out.stdout_text());
                print_indented("stderr: ", &out.stderr_text());
            }
            Err(e) => {
                all_ok = false;
                crate::say!("── {node}: could not run");
                print_indented("", &e.to_string());
            }
        }
    }
    Ok(if all_ok { Exit::Valid } else { Exit::Invalid })
}

fn print_indented(prefix: &str, text: &str) {
    for line in text.lines() {
        crate::say!("   {prefix}{line}");
    }
}
