//! `anyns ctl`: the operator's command line over the control socket, in the style of
//! knotc. The words are checked here first (an unknown word is a usage error, exit 2,
//! without touching the daemon), sent as one line, and the JSON answer is shown as a
//! table (`render`) or printed as it came (`--json`).

mod render;

use serde_json::Value;

use crate::cli::CtlArgs;
use crate::control;
use crate::error::Error;

/// The words `ctl` knows, for the usage error.
const USAGE: &str = "status | health | drain | undrain | zone list | zone status ZONE | \
                     zone reload|refresh|retransfer|notify ZONE | bgp peers | cache | \
                     flush NAME | flush-tree NAME";

/// What one command line asks for: the control socket's command and how to show it.
#[derive(Debug, PartialEq, Eq)]
struct Request {
    line: String,
    view: render::View,
}

/// Reads the words of `anyns ctl WORDS...`.
fn parse(words: &[String]) -> Result<Request, Error> {
    use render::View;
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let (line, view) = match words.as_slice() {
        ["status"] => ("status".to_string(), View::Clouds),
        ["health"] => ("status".to_string(), View::Checks),
        [word @ ("drain" | "undrain")] => (word.to_string(), View::Clouds),
        ["zone", "list"] => ("zone list".to_string(), View::Zones),
        ["zone", "status", zone] => (format!("zone status {zone}"), View::Zone),
        [
            "zone",
            action @ ("reload" | "refresh" | "retransfer" | "notify"),
            zone,
        ] => (format!("zone {action} {zone}"), View::Action),
        ["bgp", "peers"] => ("bgp peers".to_string(), View::Peers),
        ["cache"] => ("cache".to_string(), View::Fields),
        [word @ ("flush" | "flush-tree"), name] => (format!("{word} {name}"), View::Fields),
        [] => return Err(Error::Usage(format!("ctl: a command is needed: {USAGE}"))),
        _ => {
            return Err(Error::Usage(format!(
                "ctl: unknown command {:?}: {USAGE}",
                words.join(" ")
            )));
        }
    };
    Ok(Request { line, view })
}

/// Runs `anyns ctl`.
pub(crate) fn command(args: &CtlArgs) -> Result<(), Error> {
    let request = parse(&args.words)?;
    let socket = control::socket_path(args.control.socket.clone(), args.control.config.as_deref())?;
    let answer = match control::client(&socket, &request.line) {
        Ok(answer) => answer,
        Err(Error::Control(json)) => {
            // Show the daemon's message, not its JSON, unless JSON was asked for.
            let message = serde_json::from_str::<Value>(&json)
                .ok()
                .and_then(|v| v["error"].as_str().map(str::to_string));
            return Err(Error::Control(match (args.json, message) {
                (false, Some(message)) => message,
                _ => json,
            }));
        }
        Err(other) => return Err(other),
    };
    if args.json {
        println!("{answer}");
        return Ok(());
    }
    let value: Value = serde_json::from_str(&answer)
        .map_err(|e| Error::Control(format!("unreadable answer ({e}): {answer}")))?;
    print!("{}", render::render(request.view, &value));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn words_become_one_control_line_and_unknown_words_are_usage_errors() {
        let ok = |line: &str| parse(&words(line)).unwrap().line;
        assert_eq!(ok("zone status example.com."), "zone status example.com.");
        assert_eq!(
            ok("zone retransfer example.com"),
            "zone retransfer example.com"
        );
        assert_eq!(ok("health"), "status");
        assert_eq!(ok("bgp peers"), "bgp peers");
        for bad in [
            "",
            "zone",
            "zone frobnicate x",
            "bgp",
            "zone status",
            "drain now",
        ] {
            match parse(&words(bad)) {
                Err(err @ Error::Usage(_)) => assert_eq!(err.exit_code(), 2, "{bad:?}"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }
}
