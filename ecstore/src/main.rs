//! ecstore: a small Dynamo-style eventually consistent store, rift's embedded demo target.
//!
//! Small and readable, but a real networked multi-process store whose flaws are switches:
//! wall-clock last-write-wins (`--resolution lww-wall`), reads from one replica
//! (`--read-routing random` or `local`), no anti-entropy (`--anti-entropy-ms 0`), no read repair.
//! See docs/ecstore.md for the API.

mod clock;
mod config;
mod node;
mod state;
mod store;

use clap::Parser;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

fn main() -> ExitCode {
    let args = config::Args::parse();
    let settings = match config::Settings::resolve(args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ecstore: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ecstore: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ecstore: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: config::Settings) -> Result<(), String> {
    let store = store::Store::open(&settings.args.data_dir, settings.args.fsync)?;
    let listen = settings.args.listen;
    let ae = settings.args.anti_entropy_ms;
    let name = settings.peers[settings.me].name.clone();
    let summary = format!(
        "N={} W={} R={} resolution={:?} read-routing={:?} anti-entropy={} read-repair={:?}",
        settings.n,
        settings.w,
        settings.r,
        settings.args.resolution,
        settings.args.read_routing,
        if ae == 0 {
            "off".to_string()
        } else {
            format!("{ae}ms")
        },
        settings.args.read_repair
    );
    let node = Arc::new(node::Node::new(settings, store)?);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("{listen}: {e}"))?;
    eprintln!("ecstore {name} listening on {listen}: {summary}");
    if ae > 0 {
        let node = node.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(ae));
            loop {
                tick.tick().await;
                // A silent peer is normal under a partition; try another next time.
                let _ = node.anti_entropy_round().await;
            }
        });
    }
    axum::serve(listener, node::router(node))
        .await
        .map_err(|e| e.to_string())
}
