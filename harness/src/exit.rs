//! Exit codes, as Jepsen's: the verdict, or why there is none.

use checkers::Validity;

/// `println!` that never panics: when stdout is closed early (`rift check … | head`), what
/// would have been printed is dropped and the command goes on to its end, quietly, as other
/// command-line tools do.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// `print!` that never panics (see [`say!`]).
#[macro_export]
macro_rules! say_raw {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($arg)*);
    }};
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    Valid = 0,
    Invalid = 1,
    Unknown = 2,
    /// The command line, or input it names, is wrong: nothing was judged.
    BadArguments = 254,
    /// rift itself failed.
    Internal = 255,
}

impl From<Validity> for Exit {
    fn from(v: Validity) -> Exit {
        match v {
            Validity::True => Exit::Valid,
            Validity::False => Exit::Invalid,
            Validity::Unknown => Exit::Unknown,
        }
    }
}

/// An error in what the user gave us (arguments, or the files they name).
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

pub fn usage(message: impl Into<String>) -> anyhow::Error {
    UsageError(message.into()).into()
}

/// Bad input is the user's to fix (254); anything else is rift's failure (255).
pub fn classify(e: &anyhow::Error) -> Exit {
    if e.chain().any(|c| c.is::<UsageError>()) {
        Exit::BadArguments
    } else {
        Exit::Internal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_map_to_jepsen_exit_codes() {
        assert_eq!(Exit::from(Validity::True) as u8, 0);
        assert_eq!(Exit::from(Validity::False) as u8, 1);
        assert_eq!(Exit::from(Validity::Unknown) as u8, 2);
        assert_eq!(classify(&usage("x")), Exit::BadArguments);
        let wrapped = usage("inner").context("outer");
        assert_eq!(classify(&wrapped), Exit::BadArguments);
        assert_eq!(classify(&anyhow::anyhow!("disk full")), Exit::Internal);
    }
}
