use crate::common::TestCluster;
use control::{Cmd, Remote};
use proptest::prelude::*;

const NASTY: &[&str] = &[
    "",
    " ",
    "'",
    "\"",
    "it's",
    "$(touch /tmp/rift-pwned)",
    "`id`",
    "; rm -rf /",
    "a\nb",
    "\n",
    "\\",
    "\\'",
    "*",
    "~",
    "-n",
    "--",
    "$HOME",
    "${IFS}",
    "!!",
    "a b\tc",
    "é😀",
    "=x",
    "'\"'\"'",
];

fn echo_back(c: &TestCluster, args: &[String]) -> Vec<String> {
    // A leading marker: printf prints its format once even when given no arguments.
    let cmd = Cmd::new("printf")
        .arg("%s\\0")
        .arg("start")
        .args(args.iter().cloned());
    let out = c.rt.block_on(c.remotes[0].run(&cmd)).unwrap();
    let text = out.stdout_text();
    let mut got: Vec<String> = text.split('\0').map(String::from).collect();
    got.pop(); // after the last NUL
    assert_eq!(got.remove(0), "start");
    got
}

#[test]
fn arguments_reach_the_remote_program_literally() {
    let Some(c) = TestCluster::up(4, 1) else {
        return;
    };
    let nasty: Vec<String> = NASTY.iter().map(|s| s.to_string()).collect();
    assert_eq!(echo_back(&c, &nasty), nasty);
    let pwned =
        c.rt.block_on(c.remotes[0].exec(&Cmd::new("test").args(["-e", "/tmp/rift-pwned"])))
            .unwrap();
    assert!(!pwned.success(), "a command substitution ran");

    // And in a working directory and environment that need quoting too.
    let dir = format!("{}/it's $(odd)", c.inventory.nodes[0].workdir);
    c.run(0, Cmd::new("mkdir").args(["-p", &dir]));
    let out = c.run(
        0,
        Cmd::script("pwd; printf %s \"$V\"")
            .cwd(&dir)
            .env("V", "a'b;$(c)"),
    );
    assert_eq!(out.stdout_text(), format!("{dir}\na'b;$(c)"));

    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(64));
    let strategy = prop::collection::vec(any::<String>().prop_map(|s| s.replace('\0', "")), 0..6);
    runner
        .run(&strategy, |args| {
            prop_assert_eq!(echo_back(&c, &args), args);
            Ok(())
        })
        .unwrap();
}
