//! `rift convert`: JSON Lines ↔ Jepsen EDN, chosen by the files' extensions.

use crate::cli::ConvertArgs;
use crate::exit::{Exit, usage};
use anyhow::Result;
use history::Format;

pub fn run(args: ConvertArgs) -> Result<Exit> {
    let out_format = Format::from_path(&args.output).ok_or_else(|| {
        usage(format!(
            "{}: cannot tell the output format from the extension (use .jsonl or .edn)",
            args.output.display()
        ))
    })?;
    if std::fs::canonicalize(&args.input).ok() == std::fs::canonicalize(&args.output).ok() {
        return Err(usage("the input and the output are the same file"));
    }
    let loaded = history::load(&args.input).map_err(|e| usage(e.to_string()))?;
    for w in &loaded.warnings {
        eprintln!("rift: warning: {w}");
    }
    match out_format {
        Format::Jsonl => history::jsonl::write_all(&args.output, &loaded.ops)?,
        Format::Edn => history::edn::write_all(&args.output, &loaded.ops)?,
        Format::Text => {
            return Err(usage(format!(
                "{}: rift reads Jepsen's text logs but writes .jsonl or .edn",
                args.output.display()
            )));
        }
    }
    eprintln!(
        "wrote {} ops to {}",
        loaded.ops.len(),
        args.output.display()
    );
    Ok(Exit::Valid)
}
