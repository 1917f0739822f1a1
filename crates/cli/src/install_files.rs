//! What an installed `fpt-login` brings for shells and `man`, generated from the command line
//! definition so they never drift from it: completion scripts and the manual pages.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::args::InstallFilesCommand;
use crate::exit::Failure;

#[derive(Debug, thiserror::Error)]
enum InstallFilesError {
    #[error("cannot write the manual pages into {}: {source}", dir.display())]
    Man {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot print the completion script: {0}")]
    Completions(std::io::Error),
}

/// Runs `command` for the CLI whose definition is `cli`.
pub fn run(command: InstallFilesCommand, cli: clap::Command) -> Result<(), Failure> {
    let done = match command {
        InstallFilesCommand::Completions { shell } => completions(shell, cli),
        InstallFilesCommand::Man { dir } => man_pages(cli, &dir),
    };
    done.map_err(Failure::failed)
}

fn completions(
    shell: clap_complete::Shell,
    mut cli: clap::Command,
) -> Result<(), InstallFilesError> {
    // Rendered into memory first: clap_complete panics when its writer fails (a closed pipe).
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cli, "fpt-login", &mut script);
    std::io::stdout()
        .lock()
        .write_all(&script)
        .map_err(InstallFilesError::Completions)
}

fn man_pages(cli: clap::Command, dir: &Path) -> Result<(), InstallFilesError> {
    std::fs::create_dir_all(dir)
        .and_then(|()| clap_mangen::generate_to(cli, dir))
        .map_err(|source| InstallFilesError::Man {
            dir: dir.to_path_buf(),
            source,
        })
}
