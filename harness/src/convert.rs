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
    if matches!(out_format, Format::Text | Format::Plume) {
        return Err(usage(format!(
            "{}: rift reads Jepsen's text logs and Plume's histories but writes .jsonl or .edn",
            args.output.display()
        )));
    }
    // Op by op, into a file beside the output that takes its name only once all is written: a
    // bad line stops the conversion without leaving half a history under the output's name.
    let partial = args.output.with_extension("partial");
    let shown = |e: std::io::Error| anyhow::anyhow!("{}: {e}", partial.display());
    let mut out = std::io::BufWriter::new(std::fs::File::create(&partial).map_err(shown)?);
    let mut count = 0u64;
    let mut line = String::with_capacity(256);
    let mut write = |op: &history::Op| -> std::io::Result<()> {
        count += 1;
        match out_format {
            Format::Edn => {
                use std::io::Write as _;
                line.clear();
                history::edn::op_to_edn(op, &mut line);
                line.push('\n');
                out.write_all(line.as_bytes())
            }
            _ => history::jsonl::write_op(&mut out, op),
        }
    };
    let streamed = stream_ops(&args.input, &mut write);
    let warnings = match streamed {
        Ok(w) => w,
        Err(e) => {
            drop(out);
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    {
        use std::io::Write as _;
        out.flush().map_err(shown)?;
    }
    drop(out);
    std::fs::rename(&partial, &args.output).map_err(shown)?;
    for w in &warnings {
        eprintln!("rift: warning: {w}");
    }
    eprintln!("wrote {count} ops to {}", args.output.display());
    Ok(Exit::Valid)
}

/// Hands every op of a history file to `write`, one at a time (JSON Lines and EDN stream; a
/// JSON array and a text log are read whole); returns the reader's warnings.
fn stream_ops(
    input: &std::path::Path,
    write: &mut dyn FnMut(&history::Op) -> std::io::Result<()>,
) -> Result<Vec<String>> {
    let bad = |e: history::HistoryError| usage(e.to_string());
    let io = |e: std::io::Error| anyhow::anyhow!("writing: {e}");
    match Format::of_file(input) {
        Some(Format::Jsonl) if !history::jsonl::is_array(input).map_err(bad)? => {
            let mut reader = history::JsonlReader::open(input).map_err(bad)?;
            for op in reader.by_ref() {
                write(&op.map_err(bad)?).map_err(io)?;
            }
            Ok(reader.warnings())
        }
        Some(Format::Edn) => {
            for op in history::edn::EdnReader::open(input).map_err(bad)? {
                write(&op.map_err(bad)?).map_err(io)?;
            }
            Ok(Vec::new())
        }
        Some(Format::Plume) => {
            for op in history::plume::PlumeReader::open(input).map_err(bad)? {
                write(&op.map_err(bad)?).map_err(io)?;
            }
            Ok(Vec::new())
        }
        _ => {
            let loaded = history::load(input).map_err(bad)?;
            for op in &loaded.ops {
                write(op).map_err(io)?;
            }
            Ok(loaded.warnings)
        }
    }
}
