//! Mapping outcomes to the exit codes of the CLI contract.
//!
//! 0 = success, 1 = user error (bad input, bad arguments, missing files), 2 = internal error.
//! A command marks a failure as internal by putting an [`InternalError`] in the error chain;
//! everything else is the user's to fix, and a panic is always internal.

use std::process::ExitCode;

/// Marks an error as an internal failure (exit code 2) rather than a user error.
#[derive(Debug)]
pub struct InternalError(pub String);

impl std::fmt::Display for InternalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "internal error: {}", self.0)
    }
}

impl std::error::Error for InternalError {}

/// Exit code for a user error.
pub const USER_ERROR: u8 = 1;
/// Exit code for an internal error.
pub const INTERNAL_ERROR: u8 = 2;

/// Prints the error (if any) on stderr and returns the exit code the contract gives it.
pub fn report(result: std::thread::Result<anyhow::Result<()>>) -> ExitCode {
    match result {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(error)) => {
            eprintln!("error: {}", message(&error));
            if error.chain().any(|cause| cause.is::<InternalError>()) {
                ExitCode::from(INTERNAL_ERROR)
            } else {
                ExitCode::from(USER_ERROR)
            }
        }
        // The panic hook has already printed the message.
        Err(_) => ExitCode::from(INTERNAL_ERROR),
    }
}

/// Prints a command-line parsing outcome: help and version on stdout (exit 0), a usage error
/// on stderr as a user error (exit 1), not clap's own exit code 2, which the contract keeps for
/// internal errors.
pub fn usage(error: clap::Error) -> ExitCode {
    let _ = error.print();
    if error.use_stderr() {
        ExitCode::from(USER_ERROR)
    } else {
        ExitCode::SUCCESS
    }
}

/// The error and its causes, each said once. Library errors often name their source in their
/// own message too ("I/O error on F: No such file…"), and `{:#}` would then print the source
/// again after it.
fn message(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let part = cause.to_string();
        if text.ends_with(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_the_message_already_names_is_said_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file");
        let error = anyhow::Error::new(ridgeline::Error::io("/g/MANIFEST", io))
            .context("cannot open gallery /g");
        assert_eq!(
            message(&error),
            "cannot open gallery /g: I/O error on /g/MANIFEST: No such file"
        );
        // Causes that add something are all kept, in order.
        let error = anyhow::anyhow!("root cause").context("middle").context("top");
        assert_eq!(message(&error), "top: middle: root cause");
    }
}
