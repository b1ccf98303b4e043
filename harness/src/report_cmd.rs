//! `rift report <run-dir>`: renders a run's reports again from results.json and the history.

use crate::cli::ReportArgs;
use crate::exit::{Exit, usage};
use anyhow::Result;

pub fn run(args: ReportArgs) -> Result<Exit> {
    let dir = &args.run_dir;
    if !dir.join(results::run_dir_files::RESULTS_JSON).is_file() {
        return Err(usage(format!(
            "{}: no results.json here; give a run directory (results/<test>/<stamp>)",
            dir.display()
        )));
    }
    let rendered = results::report::write_reports(dir)?;
    for f in &rendered.files {
        crate::say!("{}", f.display());
    }
    Ok(Exit::Valid)
}
