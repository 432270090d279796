//! The client side of the control socket: one command line out, one JSON line back.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use crate::config::{ConfigError, KeyPath};
use crate::error::Error;

/// Sends `command` to the socket and returns the answer line.
/// Returns an error if the daemon cannot be reached or answers with an error.
pub fn client(socket: &Path, command: &str) -> Result<String, Error> {
    let fail = |e: std::io::Error| Error::io(format!("control socket {}", socket.display()), e);
    let mut stream = UnixStream::connect(socket).map_err(fail)?;
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .map_err(fail)?;
    stream
        .write_all(format!("{command}\n").as_bytes())
        .map_err(fail)?;
    let mut answer = String::new();
    BufReader::new(stream)
        .read_line(&mut answer)
        .map_err(fail)?;
    let answer = answer.trim_end().to_string();
    if answer.starts_with("{\"error\"") {
        return Err(Error::Control(answer));
    }
    Ok(answer)
}

/// The socket path of `anyns drain`: `--socket`, else the config's `server.control-socket`.
pub fn socket_path(socket: Option<PathBuf>, config: Option<&Path>) -> Result<PathBuf, Error> {
    if let Some(socket) = socket {
        return Ok(socket);
    }
    let Some(config) = config else {
        return Err(Error::Config(
            ConfigError::new(KeyPath::root("--socket"), "not given")
                .hint("give --socket PATH or --config FILE (with server.control-socket)"),
        ));
    };
    crate::config::Config::from_file(config)?
        .control_socket
        .ok_or_else(|| {
            Error::Config(
                ConfigError::new(KeyPath::root("server").key("control-socket"), "is not set")
                    .in_file(config)
                    .hint("set it in [server] or give --socket PATH"),
            )
        })
}
