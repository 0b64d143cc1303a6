//! Exit codes: 0 done or unchanged, 2 invalid input, 3 refused, 4 guardrail failed, 1 anything else;
//! 141 when the reader of the output went away.

use std::fmt;
use std::io::Write as _;

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
        // Not eprintln!: with stderr closed too, the code still comes out.
        let _ = writeln!(std::io::stderr(), "error: {err:#}");
    }
    code
}

/// 128 + SIGPIPE: what a shell reports for a command whose reader stopped reading.
pub const CLOSED_PIPE: i32 = 141;

/// `print!` panics when the reader of stdout or stderr is gone (`cargo xtask apps | head -1`).
/// That is no failure of the command: this hook keeps the panic's message off the terminal, and
/// `main` turns the panic, once unwinding has run every cleanup, into exit [`CLOSED_PIPE`].
pub fn quiet_closed_pipes() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !is_closed_pipe(info.payload_as_str().unwrap_or_default()) {
            default(info);
        }
    }));
}

/// Whether a panic's message is std's "failed printing to stdout: ... (os error 32)" (EPIPE).
pub fn is_closed_pipe(message: &str) -> bool {
    message.starts_with("failed printing to std") && message.ends_with("(os error 32)")
}

/// The message of a caught panic, when it has one.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or_default()
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

pub fn is_silenced(err: &anyhow::Error) -> bool {
    err.downcast_ref::<Silenced>().is_some()
}

pub fn silenced_code(err: &anyhow::Error) -> Option<i32> {
    err.downcast_ref::<Silenced>().map(|s| s.0)
}
