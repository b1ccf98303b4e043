//! `rift serve`: a web UI over a results directory — the run list (newest first, verdict in
//! colour, counts) and each run's report and files. Loopback only; no external assets.

use crate::cli::ServeArgs;
use crate::exit::Exit;
use anyhow::{Context, Result};
use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

pub fn run(args: ServeArgs) -> Result<Exit> {
    let root = Arc::new(args.results_dir.clone());
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
            .await
            .with_context(|| format!("listening on 127.0.0.1:{}", args.port))?;
        let addr = listener.local_addr()?;
        crate::say!("rift serve: http://{addr}/ (results in {})", root.display());
        let app = Router::new()
            .route("/", get(index))
            .route("/runs/{*path}", get(file))
            .with_state(root);
        axum::serve(listener, app).await.context("serving")?;
        Ok(Exit::Valid)
    })
}

async fn index(State(root): State<Arc<PathBuf>>) -> Html<String> {
    let runs = results::report::list_runs(&root);
    Html(results::report::render_index(&runs, &root))
}

/// A file under the results directory; a directory lists its files.
async fn file(State(root): State<Arc<PathBuf>>, UrlPath(path): UrlPath<String>) -> Response {
    let rel = Path::new(&path);
    // Only plain names: no `..`, no absolute paths.
    if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return (StatusCode::BAD_REQUEST, "bad path").into_response();
    }
    let full = root.join(rel);
    if full.is_dir() {
        return Html(listing(&path, &full)).into_response();
    }
    match tokio::fs::read(&full).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, content_type(&full))], bytes).into_response(),
        Err(_) => (StatusCode::NOT_FOUND, format!("no {path} here")).into_response(),
    }
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("xml") => "application/xml",
        _ => "text/plain; charset=utf-8",
    }
}

fn listing(path: &str, dir: &Path) -> String {
    let esc = results::report::escape;
    let base = path.trim_end_matches('/');
    let mut names: Vec<(String, bool)> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| {
                    (
                        e.file_name().to_string_lossy().into_owned(),
                        e.path().is_dir(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let mut h = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{0}</title></head><body><p><a href=\"/\">runs</a> / {0}</p><ul>",
        esc(base)
    );
    for (name, is_dir) in names {
        let slash = if is_dir { "/" } else { "" };
        h.push_str(&format!(
            "<li><a href=\"/runs/{}/{}{slash}\">{}{slash}</a></li>",
            esc(base),
            esc(&name),
            esc(&name)
        ));
    }
    h.push_str("</ul></body></html>");
    h
}
