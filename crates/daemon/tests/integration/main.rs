//! The anyns daemon's integration tests, in one test binary (as rustls and hickory do):
//! each module below was a test binary of its own, and [`support`] holds the helpers they
//! share. Run one module or one test by its path:
//! `cargo test -p anyns --test integration health::` or
//! `cargo test -p anyns --test integration health::control_socket_drain_undrain_status`.
//!
//! What the suite covers:
//! * on loopback, no root needed: the daemon's serving behaviour (SIGHUP reloads, TCP per
//!   RFC 7766, wildcard and IPv6 listeners: `serving`), malformed and random queries
//!   (`malformed`), `GET /metrics` and rate limiting (`metrics`), and health checks with the
//!   control socket (`health`), `ctl`, `fleet`, `supervise`, `audit`, DNS cookies (`cookies`,
//!   with Knot and BIND), TLS (`tls`: DoT, XoT with BIND and NSD), the wall clock jumping
//!   (`clock_jump`, libfaketime), and the config fuzz seeds with mutations of them
//!   (`config_corpus`);
//! * interop on loopback with the real tools: `dig` and `kdig` and `anyns check-zone`
//!   (`interop_dig`), every answer compared with Knot's on the zone corpus and on signed
//!   zones (`differential_knot`), validation by Unbound (`dnssec_unbound`), and zone
//!   transfers, NOTIFY, catalogs and TSIG with Knot both ways (`transfer_interop`), with BIND
//!   9.18 and NSD 4.6 both ways (`transfer_bind_nsd`), over TLS (`tls`), and the audit
//!   (`audit`) with Knot and NSD beside anyns;
//! * the resolver over a tree of anyns servers on loopback (`resolver`), and, as root in a
//!   namespace of its own, compared name by name with Unbound (`resolver_unbound`) and
//!   falling back to a unicast name server when TCP to the anycast ones is reset
//!   (`resolver_tcp`, nftables);
//! * in network namespaces, as root: BGP against BIRD 2, GoBGP and FRR (`bgp_interop`), BFD
//!   against BIRD (`bfd_interop`), and health-driven withdrawal end to end with BIRD and a
//!   query stream (`health_bird`).
//!
//! The tests that need root check for it first and, without it, print a loud
//! `!!!!! SKIPPED <test>: needs root ... !!!!!` notice and return (so they pass without
//! testing anything): look for that line when not running as root. CI runs as root. The
//! external tools (knotd, dig, kdig, ldnsutils, unbound, BIRD 2, GoBGP, FRR) are required,
//! not skipped: scripts/install-deps.sh installs them (named and openssl too, for the TLS
//! tests: `tls`).

mod support;

mod audit;
mod bfd_interop;
mod bgp_interop;
mod clock_jump;
mod config_corpus;
mod cookies;
mod ctl;
mod differential_knot;
mod dnssec_unbound;
mod edns_conformance;
mod fleet;
mod health;
mod health_bird;
mod interop_dig;
mod malformed;
mod metrics;
mod packaging;
mod resolver;
mod resolver_tcp;
mod resolver_unbound;
mod resolver_unbound_dnssec;
mod serving;
mod supervise;
mod tls;
mod transfer_bind_nsd;
mod transfer_interop;
