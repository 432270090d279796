//! anyns's anycast lab: a small Internet in network namespaces on one Linux machine.
//!
//! Routers run BIRD 2 and speak eBGP to each other; every site runs one anyns per cloud
//! with the service address on its `lo`, its own unicast address on the veth and a BGP
//! session to its router (fate sharing: the route lives as long as the process); clients
//! and a hidden primary hang off the routers. The topology comes from a TOML file
//! ([`Topology`], `lab/default.toml`); `lab/resolver.toml` adds the lab's own signed DNS
//! tree ([`tree`]) and a resolver cloud resolving it.
//!
//! ```text
//!   Topology ──► Lab::up ──► namespaces + veths ──► BIRD per router ──► anyns per site/cloud
//!                  │                                                         │
//!                  └── waits until every client gets an answer from every cloud
//!   Lab::probe / Lab::stream ──► `ip netns exec CLIENT anyns-lab probe ...` (one line per query)
//!   Lab::down ──► TERM then KILL by PID (pid files + `ip netns pids`), delete marked namespaces
//! ```
//!
//! What it deliberately does not do: touch the host's interfaces (every veth has both ends
//! in lab namespaces), add default routes or NAT, or use addresses outside the
//! documentation ranges. Everything the lab starts is found again from its run directory,
//! so `down` works after a crash and is idempotent.

#![forbid(unsafe_code)]

mod configs;
pub mod connection;
pub mod demo;
mod disruption;
pub mod dns;
mod error;
pub mod forward;
pub mod lab;
pub mod metrics;
pub mod probe;
mod render;
pub mod report;
mod resolver_demo;
pub mod system;
pub mod topology;
pub mod tree;

pub use configs::BIG_TXT_STRINGS;
pub use error::Error;
pub use lab::{Lab, LabOptions};
pub use probe::{Outcome, ProbeOptions, ProbeRecord, Stream};
pub use topology::{Scope, Serves, Topology};
