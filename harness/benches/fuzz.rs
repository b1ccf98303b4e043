//! Fuzzing every parser a user can feed rift: `cargo bench -p harness --bench fuzz [-- N]`.
//!
//! Each parser gets mutated inputs grown from valid seeds (bytes flipped, inserted, deleted,
//! duplicated, spliced with the format's own tokens), N per parser pass (default 4 000 000 for
//! JSON Lines and EDN, a quarter for JSON arrays and Jepsen logs, a tenth for the TOML files:
//! 11.2 M inputs in all); every input runs
//! under `catch_unwind`. Reported: inputs per parser, how many were accepted, how many errors
//! named their place (file and line where the format has lines), and panics, which must be 0.
#![allow(clippy::unwrap_used)]

use std::io::Cursor;
use std::path::Path;
use std::time::Instant;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// A mutation of `seed`: one to four edits.
fn mutate(rng: &mut Rng, seed: &[u8], tokens: &[&[u8]]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(b.len() + 1);
        match rng.below(6) {
            0 if !b.is_empty() => {
                let i = rng.below(b.len());
                b[i] ^= 1 << rng.below(8);
            }
            1 => b.insert(at.min(b.len()), rng.next() as u8),
            2 if !b.is_empty() => {
                let end = (at + 1 + rng.below(8)).min(b.len());
                b.drain(at.min(end)..end);
            }
            3 if !b.is_empty() => {
                let start = rng.below(b.len());
                let end = (start + 1 + rng.below(16)).min(b.len());
                let piece = b[start..end].to_vec();
                let at = at.min(b.len());
                b.splice(at..at, piece);
            }
            _ => {
                let t = tokens[rng.below(tokens.len())];
                let at = at.min(b.len());
                b.splice(at..at, t.iter().copied());
            }
        }
    }
    b
}

#[derive(Default)]
struct Tally {
    inputs: u64,
    accepted: u64,
    placed: u64,
    errors: u64,
    panics: u64,
}

fn fuzz(
    name: &str,
    n: u64,
    seeds: &[&str],
    tokens: &[&[u8]],
    rng: &mut Rng,
    // Ok(()) accepted; Err(message) rejected: the message must name the place.
    parse: &dyn Fn(&str) -> Result<(), String>,
    placed: &dyn Fn(&str) -> bool,
) -> Tally {
    let mut t = Tally::default();
    let start = Instant::now();
    for i in 0..n {
        let seed = seeds[(i as usize) % seeds.len()].as_bytes();
        let bytes = mutate(rng, seed, tokens);
        let text = String::from_utf8_lossy(&bytes);
        t.inputs += 1;
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parse(&text))) {
            Ok(Ok(())) => t.accepted += 1,
            Ok(Err(m)) => {
                t.errors += 1;
                if placed(&m) {
                    t.placed += 1;
                } else if t.errors - t.placed <= 3 {
                    eprintln!("{name}: an error that names no place: {m}\n  input: {text:?}");
                }
            }
            Err(_) => {
                t.panics += 1;
                if t.panics <= 3 {
                    eprintln!("{name}: PANIC on input {text:?}");
                }
            }
        }
    }
    println!(
        "{name:<12} {:>10} inputs {:>9} accepted {:>10} errors ({:>10} naming the place) {:>3} panics  {:>6.1} s",
        t.inputs,
        t.accepted,
        t.errors,
        t.placed,
        t.panics,
        start.elapsed().as_secs_f64()
    );
    t
}

fn main() {
    let n: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(4_000_000);
    // Panics are counted, not printed by the default hook.
    std::panic::set_hook(Box::new(|_| {}));
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let json_tokens: &[&[u8]] = &[
        b"{",
        b"}",
        b"[",
        b"]",
        b"\"",
        b":",
        b",",
        b"\n",
        b"null",
        b"true",
        b"-1",
        b"1e999",
        b"18446744073709551616",
        b"\"#set\"",
        b"\"type\"",
        b"\"ok\"",
        b"\"invoke\"",
        b"\"value\"",
        b"\\u0000",
        b"\xc3\xa9",
    ];
    let jsonl_seeds = [
        "{\"index\":0,\"time\":1,\"type\":\"invoke\",\"process\":0,\"f\":\"add\",\"value\":1}\n{\"index\":1,\"time\":2,\"type\":\"ok\",\"process\":0,\"f\":\"add\",\"value\":1}\n",
        "{\"index\":0,\"type\":\"ok\",\"process\":\"nemesis\",\"f\":\"txn\",\"value\":[[\"append\",1,2],[\"r\",1,[1,2]]],\"node\":\"n1\",\"final\":true}\n",
        "{\"index\":2,\"time\":3,\"type\":\"ok\",\"process\":1,\"f\":\"read\",\"value\":{\"#set\":[1,2,3]},\"error\":null}\n",
    ];
    let path = Path::new("fuzz.jsonl");
    let mut total = 0u64;
    let mut panics = 0u64;
    let lined = |m: &str| {
        m.contains("fuzz.")
            && m.split(':')
                .nth(1)
                .is_some_and(|l| l.trim().parse::<u64>().is_ok())
    };
    let t = fuzz(
        "jsonl",
        n,
        &jsonl_seeds,
        json_tokens,
        &mut rng,
        &|text| {
            let r = history::JsonlReader::new(Cursor::new(text.as_bytes().to_vec())).named(path);
            for op in r {
                op.map_err(|e| e.to_string())?;
            }
            Ok(())
        },
        &lined,
    );
    total += t.inputs;
    panics += t.panics;
    let t = fuzz(
        "json array",
        n / 4,
        &[
            "[{\"index\":0,\"type\":\"ok\",\"process\":0,\"f\":\"txn\",\"value\":[[\"r\",\"x\",[1]]]}]",
        ],
        json_tokens,
        &mut rng,
        &|text| {
            history::jsonl::parse_array(text.as_bytes(), Some(Path::new("fuzz.json")))
                .map(|_| ())
                .map_err(|e| e.to_string())
        },
        &|m| m.contains("fuzz.json"),
    );
    total += t.inputs;
    panics += t.panics;
    let edn_tokens: &[&[u8]] = &[
        b"{",
        b"}",
        b"[",
        b"]",
        b"(",
        b")",
        b"#{",
        b":type",
        b":ok",
        b":invoke",
        b":f",
        b":value",
        b"nil",
        b"\"",
        b"\\",
        b"#",
        b";",
        b"\n",
        b"-9223372036854775809",
        b"1.5",
        b"\\newline",
    ];
    let edn_seeds = [
        "{:process 0, :type :invoke, :f :txn, :value [[:append :x 1] [:r :y nil]]}\n{:process 0, :type :ok, :f :txn, :value [[:append :x 1] [:r :y [1 2]]]}\n",
        "{:type :info, :f :start-partition, :value :majority, :process :nemesis, :time 12}\n{:type :ok, :f :read, :value #{1 2}, :process 3, :index 9}\n",
    ];
    let t = fuzz(
        "edn",
        n,
        &edn_seeds,
        edn_tokens,
        &mut rng,
        &|text| {
            history::edn::parse(text, Some(Path::new("fuzz.edn")))
                .map(|_| ())
                .map_err(|e| e.to_string())
        },
        &lined,
    );
    total += t.inputs;
    panics += t.panics;
    let t = fuzz(
        "jepsen log",
        n / 4,
        &["INFO  jepsen.util - 3\t:invoke\t:read\tnil\nINFO  jepsen.util - 3\t:ok\t:read\t[1 2]\n"],
        edn_tokens,
        &mut rng,
        &|text| {
            history::text::parse(text, Some(Path::new("fuzz.log")))
                .map(|_| ())
                .map_err(|e| e.to_string())
        },
        &lined,
    );
    total += t.inputs;
    panics += t.panics;
    let toml_tokens: &[&[u8]] = &[
        b"=",
        b"[",
        b"]",
        b"[[nodes]]",
        b"\"",
        b"'",
        b"\n",
        b"#",
        b"{",
        b"}",
        b",",
        b"true",
        b"-1",
        b"1e400",
        b"\"\"\"",
        b".",
        b"nan",
        b"inf",
    ];
    let registry = stores::Registry::builtin();
    let plan_seed = "name = \"x\"\ndb = \"ecstore\"\nworkload = \"set\"\nnemesis = [\"partition\", \"clock\"]\nnemesis_interval = 3\nconcurrency = \"2n\"\ntime_limit = 10\nrate = 100\ndb_flags = [\"--resolution\", \"lww-wall\"]\nconsistency_models = [\"eventual\"]\n[nodes]\nlocal = true\nlocal_nodes = 3\n";
    let t = fuzz(
        "plan toml",
        n / 10,
        &[plan_seed],
        toml_tokens,
        &mut rng,
        &|text| {
            let inputs: harness::plan::PlanInputs =
                toml::from_str(text).map_err(|e| format!("plan.toml: {e}"))?;
            harness::plan::resolve(
                Some((Path::new("plan.toml"), inputs)),
                Default::default(),
                &registry,
            )
            .map(|_| ())
            .map_err(|e| e.to_string())
        },
        &|m| m.starts_with("plan.toml") || m.starts_with("--") || m.starts_with("nodes"),
    );
    total += t.inputs;
    panics += t.panics;
    let store_seed = "name = \"gun\"\nclaims = [\"eventual\"]\n[db]\nstart = [\"node\", \"{workdir}/server.js\", \"--port\", \"{port}\", \"--peers\", \"{peers}\"]\nready = [\"curl\", \"-sf\", \"http://{host}:{port}/health\"]\nport = 8765\npeer = \"http://{host}:{port}/gun\"\n[client]\ncommand = [\"sh\", \"client.sh\"]\nworkloads = [\"register\", \"set\"]\noptions = { keys = 3 }\n";
    let t = fuzz(
        "store file",
        n / 10,
        &[store_seed],
        toml_tokens,
        &mut rng,
        &|text| {
            stores::store_file::StoreFile::parse(Path::new("/tmp/fuzz/store.toml"), text)
                .map(|_| ())
                .map_err(|e| e.to_string())
        },
        &|m| m.starts_with("/tmp/fuzz/store.toml:"),
    );
    total += t.inputs;
    panics += t.panics;
    let nodes_seed = "user = \"root\"\nprivate_key = \"id\"\nknown_hosts = \"kh\"\n\n[[nodes]]\nname = \"n1\"\nhost = \"10.0.0.1\"\nworkdir = \"/w/n1\"\n\n[[nodes]]\nname = \"n2\"\nhost = \"db2:2222\"\n";
    let defaults = control::nodes::Defaults::standard();
    let t = fuzz(
        "nodes file",
        n / 10,
        &[nodes_seed],
        toml_tokens,
        &mut rng,
        &|text| {
            control::nodes::parse_nodes_file(text, Path::new("/tmp/fuzz/nodes.toml"), &defaults)
                .map(|_| ())
                .map_err(|e| e.to_string())
        },
        &|m| m.contains("/tmp/fuzz/nodes.toml"),
    );
    total += t.inputs;
    panics += t.panics;
    println!("total {total} inputs, {panics} panics");
    assert_eq!(panics, 0, "a parser panicked");
}
