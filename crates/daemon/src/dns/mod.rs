//! The DNS listeners: UDP workers and TCP connections read messages, `dispatch` routes
//! each one once (query, NOTIFY, zone transfer) and the answer goes back the way it came.
//!
//! ```text
//!  UDP worker (blocking thread, batched) ─┐                      ┌► dns_auth::respond_to_query
//!                                         ├► dispatch::dispatch ─┼► transfer::notify (NOTIFY)
//!  TCP connection (tokio task, framing) ──┤   dns_auth::classify └► transfer::xfr_out (TCP)
//!  TLS connection (handshake, then TCP) ──┘
//! ```
//! `context` is what every listener reads; `framing` is DNS-over-TCP framing for the whole
//! daemon. A new service (a resolver) answering on its own listeners would add its kind
//! of message to `dispatch` and its answer path beside `dns_auth`.

pub(crate) mod context;
mod dispatch;
pub(crate) mod framing;
pub(crate) mod tcp;
pub(crate) mod tls;
pub(crate) mod udp;
