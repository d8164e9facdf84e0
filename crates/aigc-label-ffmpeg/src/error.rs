//! What can go wrong running ffmpeg or ffprobe.

use std::process::ExitStatus;

/// An ffmpeg or ffprobe run that did not produce what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The program is not on `PATH`.
    #[error("{tool} not found on PATH: install the Debian package `{package}` (apt-get install {package})")]
    Missing {
        /// `ffmpeg` or `ffprobe`.
        tool: &'static str,
        /// The Debian package that provides it.
        package: &'static str,
    },

    /// Starting the program, or reading or writing its pipes, failed.
    #[error("{tool}: {source}")]
    Io {
        /// `ffmpeg` or `ffprobe`.
        tool: &'static str,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// The program exited unsuccessfully.
    #[error("{tool} failed ({status}): {stderr}")]
    Failed {
        /// `ffmpeg` or `ffprobe`.
        tool: &'static str,
        /// Its exit status.
        status: ExitStatus,
        /// The last lines it printed on stderr (bounded).
        stderr: String,
    },

    /// ffprobe printed something that is not the JSON we asked for.
    #[error("ffprobe printed unexpected JSON: {0}")]
    Json(#[from] serde_json::Error),
}
