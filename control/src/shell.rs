//! Commands for a remote shell, built from argument lists.
//!
//! SSH carries one string, which the node's login shell parses. rift never pastes values into
//! that string: every argument is quoted so the shell sees it as one literal word, whatever it
//! holds (quotes, `$(...)`, `;`, newlines). Only [`Cmd::script`] passes shell syntax on, and
//! rift's own code is its only user. The login shell is assumed to be POSIX-like (sh, bash,
//! dash, zsh), as Jepsen assumes.

use std::borrow::Cow;
use std::time::Duration;

/// Quotes one word for a POSIX shell. Words of only safe characters stay as they are.
pub fn quote(word: &str) -> Cow<'_, str> {
    // Not `=` (an assignment, or zsh's `=cmd`), `~`, `^`, glob or brace characters.
    let safe = |b: u8| b.is_ascii_alphanumeric() || b"-_./:,+@%".contains(&b);
    if !word.is_empty() && word.bytes().all(safe) {
        return Cow::Borrowed(word);
    }
    let mut out = String::with_capacity(word.len() + 2);
    out.push('\'');
    for c in word.chars() {
        if c == '\'' {
            out.push_str("'\\''"); // close, an escaped quote, reopen
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    Cow::Owned(out)
}

/// Quotes every word and joins them with spaces.
pub fn join<'a>(words: impl IntoIterator<Item = &'a str>) -> String {
    words.into_iter().map(quote).collect::<Vec<_>>().join(" ")
}

/// What to run: a program with literal arguments, or (rift's own) shell script.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Program {
    Argv(Vec<String>),
    Script(String),
}

/// A command to run on a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cmd {
    program: Program,
    cwd: Option<String>,
    env: Vec<(String, String)>,
    sudo: bool,
    stdin: Option<Vec<u8>>,
    timeout: Option<Duration>,
}

/// A command that cannot be expressed safely.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CmdError {
    #[error("argument {0:?} holds a NUL byte, which no command line can carry")]
    Nul(String),
    #[error("environment variable name {0:?} is not a valid name")]
    EnvName(String),
}

impl Cmd {
    pub fn new(program: impl Into<String>) -> Cmd {
        Cmd::from_program(Program::Argv(vec![program.into()]))
    }

    /// A shell script, passed to `sh -c` as it is: only for rift's own fixed scripts, with any
    /// values inside them quoted with [`quote`].
    pub fn script(script: impl Into<String>) -> Cmd {
        Cmd::from_program(Program::Script(script.into()))
    }

    fn from_program(program: Program) -> Cmd {
        Cmd {
            program,
            cwd: None,
            env: Vec::new(),
            sudo: false,
            stdin: None,
            timeout: None,
        }
    }

    pub fn arg(mut self, arg: impl Into<String>) -> Cmd {
        if let Program::Argv(argv) = &mut self.program {
            argv.push(arg.into());
        }
        self
    }

    pub fn args<S: Into<String>>(mut self, args: impl IntoIterator<Item = S>) -> Cmd {
        for a in args {
            self = self.arg(a);
        }
        self
    }

    /// Runs in this directory (which must exist).
    pub fn cwd(mut self, dir: impl Into<String>) -> Cmd {
        self.cwd = Some(dir.into());
        self
    }

    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Cmd {
        self.env.push((name.into(), value.into()));
        self
    }

    /// Runs as root: through `sudo` when the node's user is not root.
    pub fn sudo(mut self) -> Cmd {
        self.sudo = true;
        self
    }

    pub fn stdin(mut self, input: impl Into<Vec<u8>>) -> Cmd {
        self.stdin = Some(input.into());
        self
    }

    pub fn timeout(mut self, limit: Duration) -> Cmd {
        self.timeout = Some(limit);
        self
    }

    /// Whether, for a node whose user is `user`, this goes through sudo.
    pub fn uses_sudo(&self, user: &str) -> bool {
        self.sudo && user != "root"
    }

    pub fn stdin_bytes(&self) -> Option<&[u8]> {
        self.stdin.as_deref()
    }

    pub fn time_limit(&self) -> Option<Duration> {
        self.timeout
    }

    /// A short form for messages: the program and its arguments, quoted, or the script.
    pub fn display(&self) -> String {
        match &self.program {
            Program::Argv(argv) => join(argv.iter().map(String::as_str)),
            Program::Script(s) => s.clone(),
        }
    }

    /// The command line for a node whose SSH user is `user`. `sudo_password`: whether sudo
    /// will read a password from the first line of stdin (rift then sends it).
    pub fn render(&self, user: &str, sudo_password: bool) -> Result<String, CmdError> {
        let mut words: Vec<&str> = Vec::new();
        if let Program::Argv(argv) = &self.program {
            words.extend(argv.iter().map(String::as_str));
        }
        let all = words
            .iter()
            .copied()
            .chain(self.env.iter().flat_map(|(k, v)| [k.as_str(), v.as_str()]))
            .chain(self.cwd.as_deref());
        for w in all {
            if w.contains('\0') {
                return Err(CmdError::Nul(w.to_owned()));
            }
        }
        for (k, _) in &self.env {
            let valid = !k.is_empty()
                && !k.starts_with(|c: char| c.is_ascii_digit())
                && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !valid {
                return Err(CmdError::EnvName(k.clone()));
            }
        }

        let mut line = String::new();
        if let Some(dir) = &self.cwd {
            line.push_str("cd ");
            line.push_str(&quote(dir));
            line.push_str(" && ");
        }
        if !self.env.is_empty() {
            line.push_str("env");
            for (k, v) in &self.env {
                line.push(' ');
                line.push_str(&quote(&format!("{k}={v}")));
            }
            line.push(' ');
        }
        match &self.program {
            Program::Argv(argv) => line.push_str(&join(argv.iter().map(String::as_str))),
            Program::Script(s) => {
                line.push_str("sh -c ");
                line.push_str(&quote(s));
            }
        }
        if self.uses_sudo(user) {
            let sudo = if sudo_password {
                "sudo -S -p '' -- sh -c "
            } else {
                "sudo -n -- sh -c "
            };
            return Ok(format!("{sudo}{}", quote(&line)));
        }
        Ok(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_keeps_plain_words_and_wraps_the_rest() {
        assert_eq!(quote("abc-1.2/x:y"), "abc-1.2/x:y");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), "'it'\\''s'");
        assert_eq!(quote("$(rm -rf /)"), "'$(rm -rf /)'");
        assert_eq!(quote("A=b"), "'A=b'");
        assert_eq!(quote("~"), "'~'");
    }

    #[test]
    fn renders_cwd_env_and_sudo() {
        let cmd = Cmd::new("ls")
            .arg("-l")
            .arg("my dir")
            .cwd("/var/lib/rift")
            .env("LC_ALL", "C");
        assert_eq!(
            cmd.render("root", false).unwrap(),
            "cd /var/lib/rift && env 'LC_ALL=C' ls -l 'my dir'"
        );
        let sudo = Cmd::new("id").sudo();
        assert_eq!(sudo.render("root", false).unwrap(), "id");
        assert_eq!(sudo.render("admin", false).unwrap(), "sudo -n -- sh -c id");
        assert_eq!(
            sudo.render("admin", true).unwrap(),
            "sudo -S -p '' -- sh -c id"
        );
        let script = Cmd::script("echo a | wc -c");
        assert_eq!(
            script.render("root", false).unwrap(),
            "sh -c 'echo a | wc -c'"
        );
    }

    #[test]
    fn refuses_what_a_command_line_cannot_carry() {
        assert_eq!(
            Cmd::new("echo").arg("a\0b").render("root", false),
            Err(CmdError::Nul("a\0b".into()))
        );
        assert!(matches!(
            Cmd::new("x").env("A;B", "1").render("root", false),
            Err(CmdError::EnvName(_))
        ));
    }

    /// Every shell rift may meet parses a quoted word back to exactly the original.
    mod against_real_shells {
        use super::*;
        use proptest::prelude::*;
        use std::process::Command;

        fn shells() -> Vec<&'static str> {
            ["sh", "dash", "bash"]
                .into_iter()
                .filter(|s| {
                    Command::new(s)
                        .arg("-c")
                        .arg("true")
                        .status()
                        .is_ok_and(|st| st.success())
                })
                .collect()
        }

        fn through(shell: &str, cmd: &Cmd) -> Vec<String> {
            let line = cmd.render("root", false).unwrap();
            let out = Command::new(shell).arg("-c").arg(&line).output().unwrap();
            assert!(
                out.status.success(),
                "{shell}: {line:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let text = String::from_utf8(out.stdout).unwrap();
            let mut words: Vec<String> = text.split('\0').map(String::from).collect();
            words.pop();
            assert_eq!(words.remove(0), "start");
            words
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(300))]
            #[test]
            fn quoted_arguments_come_back_literally(args in prop::collection::vec(
                prop_oneof![
                    any::<String>(),
                    prop::sample::select(vec!["'", "\"", "$(id)", "`id`", ";", "\n", "\\", "*", "~", "$HOME", "!"])
                        .prop_map(String::from),
                ].prop_map(|s| s.replace('\0', "")),
                0..6,
            )) {
                let cmd = Cmd::new("printf").arg("%s\\0").arg("start").args(args.iter().cloned());
                for shell in shells() {
                    prop_assert_eq!(&through(shell, &cmd), &args, "shell {}", shell);
                }
            }
        }
    }
}
