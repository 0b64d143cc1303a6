//! Exit codes: 0 done or unchanged, 2 invalid input, 3 refused, 4 guardrail failed, 1 anything else.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    Invalid = 2,
    Refused = 3,
    Guardrail = 4,
}

/// An error that carries its exit code; every other error exits 1.
#[derive(Debug)]
pub struct Failure {
    pub code: Code,
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

pub fn invalid(message: impl Into<String>) -> anyhow::Error {
    Failure {
        code: Code::Invalid,
        message: message.into(),
    }
    .into()
}

pub fn refused(message: impl Into<String>) -> anyhow::Error {
    Failure {
        code: Code::Refused,
        message: message.into(),
    }
    .into()
}

pub fn guardrail(message: impl Into<String>) -> anyhow::Error {
    Failure {
        code: Code::Guardrail,
        message: message.into(),
    }
    .into()
}

/// The exit code of an error.
pub fn code_of(err: &anyhow::Error) -> i32 {
    if let Some(code) = silenced_code(err) {
        return code;
    }
    err.chain()
        .find_map(|e| e.downcast_ref::<Failure>())
        .map_or(1, |f| f.code as i32)
}

/// Prints the error (with its context chain) and returns the exit code.
pub fn report(err: &anyhow::Error) -> i32 {
    let code = code_of(err);
    if !is_silenced(err) {
        eprintln!("error: {err:#}");
    }
    code
}

/// A failure whose details were already printed (for example as JSON on stdout).
#[derive(Debug)]
pub struct Silenced(pub i32);

impl fmt::Display for Silenced {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "exit {}", self.0)
    }
}

impl std::error::Error for Silenced {}

fn is_silenced(err: &anyhow::Error) -> bool {
    err.downcast_ref::<Silenced>().is_some()
}

pub fn silenced_code(err: &anyhow::Error) -> Option<i32> {
    err.downcast_ref::<Silenced>().map(|s| s.0)
}
