//! `rift new store NAME --lang node|python`: a store file and a client skeleton that already
//! passes `rift test`, against a stub store it explains how to replace.

use crate::cli::{NewCommand, NewLang};
use crate::exit::{Exit, usage};
use anyhow::{Context, Result};

const STORE: &str = include_str!("../templates/store.toml");
const PY_CLIENT: &str = include_str!("../templates/client.py");
const PY_STUB: &str = include_str!("../templates/stub.py");
const JS_CLIENT: &str = include_str!("../templates/client.js");
const JS_STUB: &str = include_str!("../templates/stub.js");
const PORT: u16 = 8790;

pub fn run(command: NewCommand) -> Result<Exit> {
    let NewCommand::Store { name, lang, dir } = command;
    let valid = !name.is_empty()
        && name.len() <= 40
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !valid {
        return Err(usage(format!(
            "{name:?}: a store's name is 1 to 40 lowercase letters, digits or dashes"
        )));
    }
    let folder = dir.join(&name);
    if folder.exists() {
        return Err(usage(format!(
            "{} exists already; choose another name or --dir",
            folder.display()
        )));
    }
    let (client, stub, client_text, stub_text, program) = match lang {
        NewLang::Python => ("client.py", "stub.py", PY_CLIENT, PY_STUB, "python3"),
        NewLang::Node => ("client.js", "stub.js", JS_CLIENT, JS_STUB, "node"),
    };
    let quoted = |items: &[&str]| {
        items
            .iter()
            .map(|s| format!("{s:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let start = quoted(&[program, &format!("{{workdir}}/{stub}"), "{host}", "{port}"]);
    let ready = quoted(&[
        "sh",
        "-c",
        &format!(
            "{program} {} \"{}\"",
            match lang {
                NewLang::Python => "-c",
                NewLang::Node => "-e",
            },
            match lang {
                NewLang::Python => "import urllib.request,sys; urllib.request.urlopen('http://{host}:{port}/health', timeout=1)".to_owned(),
                NewLang::Node => "fetch('http://{host}:{port}/health').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))".to_owned(),
            }
        ),
    ]);
    let store = STORE
        .replace("__NAME__", &name)
        .replace("__DIR__", &folder.display().to_string())
        .replace("__STUB__", stub)
        .replace("__CLIENT__", client)
        .replace("__START__", &start)
        .replace("__READY__", &ready)
        .replace("__PORT__", &PORT.to_string())
        .replace("__COMMAND__", &quoted(&[program, client]));
    std::fs::create_dir_all(&folder).with_context(|| format!("creating {}", folder.display()))?;
    for (file, text) in [
        ("store.toml", store),
        (client, client_text.replace("__NAME__", &name)),
        (stub, stub_text.to_owned()),
    ] {
        let path = folder.join(file);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    // The file must be one rift accepts as it is.
    stores::store_file::StoreFile::load(&folder.join("store.toml"))
        .map_err(|e| anyhow::anyhow!("the new store file does not check: {e}"))?;
    crate::say!(
        "wrote {dir}/store.toml, {dir}/{client} and {dir}/{stub}\n\
         try it:   rift test --local --store {dir}/store.toml -w set\n\
         then replace the stub: [db] in store.toml, and the parts of {client} marked REPLACE",
        dir = folder.display()
    );
    Ok(Exit::Valid)
}
