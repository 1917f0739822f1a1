//! What the CLI reads from the person: answers on the terminal, secrets from standard input.

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use fpt_login_core::Secret;

use crate::exit::Failure;

/// Asks on the terminal, or fails with `missing` when there is none.
pub fn ask(prompt: &str, secret: bool, missing: &str) -> Result<String, Failure> {
    if !std::io::stdin().is_terminal() {
        return Err(Failure::sign_in_required(missing));
    }
    let answer = if secret {
        rpassword::prompt_password(prompt)
    } else {
        eprint!("{prompt}");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map(|_| line)
    }
    .map_err(|e| Failure::failed(format!("cannot read from the terminal: {e}")))?;
    Ok(answer.trim().to_owned())
}

/// A secret: the first line of standard input with `from_stdin`, else asked on the terminal
/// without echo. Never an argument, which every user of the machine can read.
pub fn secret(from_stdin: bool, prompt: &str, missing: &str) -> Result<Secret, Failure> {
    if !from_stdin {
        return ask(prompt, true, missing).map(Secret::new);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Failure::failed(format!("cannot read from standard input: {e}")))?;
    Ok(Secret::new(line.trim_end_matches(['\r', '\n'])))
}
