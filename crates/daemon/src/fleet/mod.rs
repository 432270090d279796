//! `anyns fleet status --inventory FILE`: the whole fleet in one view, polled over each
//! site's unicast status endpoint (`GET /status` beside `/metrics`), with, from the host it
//! runs on, which site answers each anycast address (NSID). `--json` for tools, `--watch`
//! to refresh. Every network operation is bounded by the inventory's timeout: a dead site
//! shows as unreachable, it never hangs the view.
//!
//! ```text
//!   inventory ──► poll (threads, bounded) ──► view (pure) ──► render | JSON
//! ```

mod inventory;
mod poll;
mod render;
mod serve;
mod view;

use std::time::Duration;

use crate::cli::FleetStatusArgs;
use crate::error::Error;
use inventory::Inventory;
pub(crate) use serve::serve_command;

/// Between the two polls of a one-shot view (queries per second need two).
const RATE_WINDOW: Duration = Duration::from_secs(1);

/// Runs `anyns fleet status`.
pub(crate) fn status_command(args: &FleetStatusArgs) -> Result<(), Error> {
    let inventory = Inventory::from_file(&args.inventory)?;
    let mut previous = poll::poll_all(&inventory);
    let rounds = match args.watch {
        Some(_) => args.count.unwrap_or(u32::MAX),
        None => 1,
    };
    let every = args
        .watch
        .map_or(RATE_WINDOW, |s| Duration::from_secs_f64(s.max(0.2)));
    for round in 0..rounds {
        std::thread::sleep(every.saturating_sub(previous.at.elapsed()));
        let now = poll::poll_all(&inventory);
        let view = view::compute(&inventory, &now, Some(&previous));
        if args.json {
            println!(
                "{}",
                serde_json::to_string(&view).map_err(|e| Error::Control(e.to_string()))?
            );
        } else {
            if args.watch.is_some() {
                // Clear the screen and go home, like watch(1).
                print!("\x1b[2J\x1b[H");
            }
            print!("{}", render::render(&view));
            if args.watch.is_some() && round + 1 < rounds {
                println!("\n(every {every:?}; Ctrl-C to stop)");
            }
        }
        previous = now;
    }
    Ok(())
}
