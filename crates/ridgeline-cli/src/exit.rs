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
            eprintln!("error: {error:#}");
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
