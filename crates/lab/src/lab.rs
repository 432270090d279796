//! A running lab: bring it up, drive it (signals, BIRD commands, probes, zone changes),
//! and tear it down.
//!
//! Everything is found from the run directory: `topology.toml` (the topology it was built
//! from), `namespaces` (written *before* any namespace is created), and one directory per
//! node holding its configs, logs and pid files. Namespace names are `PREFIX-NODE`, where
//! the prefix derives from the run directory's path, so two labs in two run directories
//! never share a name; each namespace also carries a marker bridge ([`system::MARKER`]).
//! [`Lab::down_dir`] stops every process inside the lab's namespaces by PID (TERM, then
//! KILL) and deletes only namespaces that are listed or marked, so it is safe after a
//! crash and idempotent.

use std::collections::HashMap;
use std::fs;
use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use crate::Error;
use crate::configs;
use crate::probe::{ProbeOptions, ProbeRecord, Stream};
use crate::render::{Table, ms};
use crate::system::{self, MARKER};
use crate::topology::{Serves, Topology, v4};
use crate::tree::{self, Chain, Signer};

/// The run directory `anyns-lab` uses when none is given.
pub const DEFAULT_RUN_DIR: &str = "/run/anyns-lab";
/// The zone's serial when the lab comes up.
pub const INITIAL_SERIAL: u32 = 2026010101;
/// Bound on `up`'s wait for BGP and for every client to see every cloud.
pub const UP_TIMEOUT: Duration = Duration::from_secs(40);

/// How to build a lab.
#[derive(Clone, Debug)]
pub struct LabOptions {
    /// The topology file's text (copied into the run directory).
    pub topology_text: String,
    /// Where configs, logs, sockets and pid files go.
    pub run_dir: PathBuf,
    /// The anyns binary.
    pub anyns_bin: PathBuf,
    /// The anyns-lab binary (its `probe` subcommand is the lab's client).
    pub lab_bin: PathBuf,
    /// Print progress lines.
    pub verbose: bool,
}

/// A lab: built by [`Lab::up`] or found again by [`Lab::attach`]. Dropping it tears it down
/// unless [`Lab::leave_running`] was called.
pub struct Lab {
    /// The topology.
    pub topology: Topology,
    run_dir: PathBuf,
    prefix: String,
    anyns_bin: PathBuf,
    lab_bin: PathBuf,
    children: Mutex<HashMap<String, Child>>,
    serial: Mutex<u32>,
    keep: bool,
    /// What the lab's zone adds as the tree's TLD (delegations, DS); empty without a tree.
    tld_additions: String,
}

/// Where the tree's keys and signed texts live in the run directory.
const TREE_DIR: &str = "tree";
/// Where the secrets every site shares are written (cookie secret, TLS certificate and
/// ticket key).
const FLEET_DIR: &str = "fleet";
/// DNS over TLS (RFC 7858).
pub const DOT_PORT: u16 = 853;
/// The nftables table [`Lab::record_dns_sources`] loads (in lab namespaces only).
pub const SOURCES_TABLE: &str = "anyns_lab_sources";
/// The file holding what the lab's zone adds as the tree's TLD.
const TLD_ADDITIONS: &str = "tld-additions";

/// What [`Lab::down_dir`] did.
#[derive(Clone, Debug, Default)]
pub struct DownReport {
    /// Namespaces deleted.
    pub namespaces: usize,
    /// Processes stopped.
    pub processes: usize,
    /// How long it took.
    pub took: Duration,
}

/// The namespace prefix of a run directory: `al` and 24 bits of an FNV-1a hash of its path.
pub fn prefix_of(run_dir: &Path) -> String {
    let mut hash: u32 = 0x811c_9dc5;
    for b in run_dir.as_os_str().as_encoded_bytes() {
        hash = (hash ^ u32::from(*b)).wrapping_mul(0x0100_0193);
    }
    format!("al{:06x}", hash & 0x00ff_ffff)
}

/// Where a lab's Unix sockets (BIRD's and anyns's control sockets) live: a short path of
/// their own, as a socket path holds at most 107 octets and a run directory (a test's
/// under `target/tmp`) can take most of that by itself.
pub const SOCKET_ROOT: &str = "/run/anyns-lab-sockets";

/// The socket directory of the lab whose namespace prefix is `prefix`.
fn socket_dir_of(prefix: &str) -> PathBuf {
    Path::new(SOCKET_ROOT).join(prefix)
}

fn absolute(run_dir: &Path) -> Result<PathBuf, Error> {
    fs::create_dir_all(run_dir).map_err(|e| Error::io(run_dir.display(), e))?;
    run_dir
        .canonicalize()
        .map_err(|e| Error::io(run_dir.display(), e))
}

impl Lab {
    /// Builds the lab and waits (bounded by [`UP_TIMEOUT`]) until every BGP session is up
    /// and every client gets an answer from every service address. Whatever an earlier
    /// lab left in the same run directory is torn down first. On error the partial lab is
    /// torn down.
    pub fn up(options: &LabOptions) -> Result<Self, Error> {
        let topology = Topology::from_toml(&options.topology_text)?;
        let run_dir = absolute(&options.run_dir)?;
        Self::down_dir(&run_dir)?;
        // A fresh lab starts from nothing: stored zones from an earlier run would be served
        // (a secondary keeps a newer serial than the restarted primary's). Only the lab's
        // own node directories are removed, never the run directory itself.
        for node in topology.node_names() {
            let dir = run_dir.join(node);
            if dir.exists() {
                fs::remove_dir_all(&dir).map_err(|e| Error::io(dir.display(), e))?;
            }
        }
        let tld_additions = if topology.has_tree() {
            Self::write_tree(&topology, &run_dir)?
        } else {
            String::new()
        };
        let lab = Self {
            tld_additions,
            prefix: prefix_of(&run_dir),
            topology,
            run_dir,
            anyns_bin: options.anyns_bin.clone(),
            lab_bin: options.lab_bin.clone(),
            children: Mutex::new(HashMap::new()),
            serial: Mutex::new(INITIAL_SERIAL),
            keep: false,
        };
        for bin in [&lab.anyns_bin, &lab.lab_bin] {
            if !bin.is_file() {
                return Err(Error::NoLab(format!(
                    "{} not found (build it: cargo build -p anyns -p anyns-lab)",
                    bin.display()
                )));
            }
        }
        lab.write(Path::new("topology.toml"), &options.topology_text)?;
        let say = |m: &str| {
            if options.verbose {
                eprintln!("    {m}");
            }
        };
        let started = Instant::now();
        lab.build_network()?;
        say(&format!(
            "{} namespaces, {} veth links ({})",
            lab.topology.node_names().len(),
            lab.topology.links.len(),
            ms(started.elapsed())
        ));
        let sockets = socket_dir_of(&lab.prefix);
        fs::create_dir_all(&sockets).map_err(|e| Error::io(sockets.display(), e))?;
        lab.start_routers()?;
        say(&format!(
            "BIRD on {} routers ({})",
            lab.topology.routers.len(),
            ms(started.elapsed())
        ));
        lab.write_zones(INITIAL_SERIAL)?;
        lab.write_fleet_secrets()?;
        if let Some(p) = &lab.topology.primary {
            let name = p.name.clone();
            let address = v4(p.block, 2).into();
            let config =
                configs::anyns_primary_config(&lab.topology, p.block, &name, "example.zone");
            lab.write(&Path::new(&name).join("anyns.toml"), &config)?;
            lab.spawn_anyns(&name, "anyns")?;
            if lab.topology.transfers {
                // The sites' first transfer should not wait for a retry timer: start them
                // once every router has a route to the primary.
                for router in &lab.topology.routers {
                    system::wait_for(
                        &format!("{}'s route to the primary", router.name),
                        UP_TIMEOUT,
                        Duration::from_millis(50),
                        || lab.has_route_for(&router.name, address).then_some(()),
                        || lab.birdc(&router.name, &["show", "protocols"]),
                    )?;
                }
                // ... and once the primary answers: a site's first SOA query sent before
                // then is lost (no ICMP on its unconnected socket) and waits for a retry.
                if let Some(client) = lab.topology.clients.first() {
                    let once = ProbeOptions::once(&[address], &lab.topology.zone);
                    system::wait_for(
                        "the primary to answer",
                        UP_TIMEOUT,
                        Duration::from_millis(50),
                        || {
                            lab.probe(&client.name, &once)
                                .ok()?
                                .iter()
                                .any(|r| r.answer().is_some_and(|a| a.aa))
                                .then_some(())
                        },
                        || lab.log(&name, "anyns"),
                    )?;
                }
                say(&format!(
                    "routes to the primary everywhere, and it answers ({})",
                    ms(started.elapsed())
                ));
            }
        }
        if let Some(slow) = &lab.topology.slow {
            let name = slow.name.clone();
            let config = configs::anyns_slow_config(&lab.topology, &name);
            lab.write(&Path::new(&name).join("anyns.toml"), &config)?;
            lab.spawn_anyns(&name, "anyns")?;
        }
        for s in 0..lab.topology.sites.len() {
            for &c in &lab.topology.sites[s].clouds.clone() {
                lab.start_instance_index(s, c)?;
            }
        }
        say(&format!(
            "anyns on {} sites and the primary ({})",
            lab.topology.sites.len(),
            ms(started.elapsed())
        ));
        lab.wait_bgp(UP_TIMEOUT)?;
        say(&format!(
            "every BGP session Established ({})",
            ms(started.elapsed())
        ));
        lab.wait_all_served(UP_TIMEOUT)?;
        say(&format!(
            "every client gets answers from every cloud ({})",
            ms(started.elapsed())
        ));
        Ok(lab)
    }

    /// Finds the lab in `run_dir` again (after `anyns-lab up`).
    pub fn attach(run_dir: &Path, anyns_bin: PathBuf, lab_bin: PathBuf) -> Result<Self, Error> {
        let run_dir = run_dir
            .canonicalize()
            .map_err(|_| Error::NoLab(format!("no lab in {}", run_dir.display())))?;
        let text = fs::read_to_string(run_dir.join("topology.toml"))
            .map_err(|_| Error::NoLab(format!("no lab in {}", run_dir.display())))?;
        let serial = fs::read_to_string(run_dir.join("serial"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(INITIAL_SERIAL);
        let tld_additions =
            fs::read_to_string(run_dir.join(TREE_DIR).join(TLD_ADDITIONS)).unwrap_or_default();
        Ok(Self {
            tld_additions,
            topology: Topology::from_toml(&text)?,
            prefix: prefix_of(&run_dir),
            run_dir,
            anyns_bin,
            lab_bin,
            children: Mutex::new(HashMap::new()),
            serial: Mutex::new(serial),
            keep: true,
        })
    }

    /// Keeps the lab running when this value is dropped (`anyns-lab up`).
    pub fn leave_running(mut self) {
        self.keep = true;
        // The children are detached (own process group); dropping the handles does not
        // stop them.
        self.children
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// The run directory.
    pub fn run_dir(&self) -> &Path {
        &self.run_dir
    }

    /// The namespace of node `name`.
    pub fn ns(&self, name: &str) -> String {
        format!("{}-{name}", self.prefix)
    }

    /// The namespaces of this lab.
    pub fn namespaces(&self) -> Vec<String> {
        self.topology
            .node_names()
            .iter()
            .map(|n| self.ns(n))
            .collect()
    }

    fn write(&self, relative: &Path, text: &str) -> Result<PathBuf, Error> {
        let path = self.run_dir.join(relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| Error::io(parent.display(), e))?;
        }
        // Write beside, then rename: a reader (or a reload) never sees half a file.
        let tmp = path.with_extension("tmp");
        let mut f = fs::File::create(&tmp).map_err(|e| Error::io(tmp.display(), e))?;
        f.write_all(text.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| Error::io(tmp.display(), e))?;
        fs::rename(&tmp, &path).map_err(|e| Error::io(path.display(), e))?;
        Ok(path)
    }

    // ---------------------------------------------------------------------------------
    // Building

    fn build_network(&self) -> Result<(), Error> {
        let ip = system::tool("ip");
        let namespaces = self.namespaces();
        // Listed before they exist: `down` after a crash half-way finds them all.
        self.write(Path::new("namespaces"), &(namespaces.join("\n") + "\n"))?;
        for ns in &namespaces {
            system::run(Command::new(&ip).args(["netns", "add", ns]))?;
            system::run(
                Command::new(&ip).args(["-n", ns, "link", "add", MARKER, "type", "bridge"]),
            )?;
        }
        // Both ends of every veth are created inside lab namespaces: nothing touches the
        // host's interfaces.
        let mut batch = String::new();
        for l in &self.topology.links {
            let router = &self.topology.routers[l.router].name;
            let other = self.topology.endpoint_name(l.other);
            batch.push_str(&format!(
                "link add to-{other} netns {} type veth peer name to-{router} netns {}\n",
                self.ns(router),
                self.ns(other)
            ));
        }
        let mut child = Command::new(&ip)
            .args(["-batch", "-"])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Error::io("ip -batch", e))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(batch.as_bytes())
                .map_err(|e| Error::io("ip -batch", e))?;
        }
        let out = child
            .wait_with_output()
            .map_err(|e| Error::io("ip -batch", e))?;
        if !out.status.success() {
            return Err(Error::Command {
                command: format!("ip -batch: {batch}"),
                output: String::from_utf8_lossy(&out.stderr).into_owned(),
            });
        }
        let names: Vec<String> = self
            .topology
            .node_names()
            .iter()
            .map(|s| s.to_string())
            .collect();
        let scripts: Vec<_> = names
            .iter()
            .map(|n| (n, configs::ns_scripts(&self.topology, n)))
            .collect();
        for (name, s) in &scripts {
            system::sh_in_ns(&self.ns(name), &s.setup)?;
        }
        for (name, s) in &scripts {
            if !s.routes.is_empty() {
                system::sh_in_ns(&self.ns(name), &s.routes)?;
            }
        }
        Ok(())
    }

    fn spawn(
        &self,
        key: &str,
        ns_node: &str,
        program: &Path,
        args: &[&str],
        dir: &str,
        file: &str,
    ) -> Result<(), Error> {
        let dir = self.run_dir.join(dir);
        fs::create_dir_all(&dir).map_err(|e| Error::io(dir.display(), e))?;
        let child = system::spawn_daemon(
            &self.ns(ns_node),
            program,
            args,
            &dir.join(format!("{file}.log")),
            &dir.join(format!("{file}.pid")),
        )?;
        self.children
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.to_string(), child);
        Ok(())
    }

    fn start_routers(&self) -> Result<(), Error> {
        let bird = system::tool("bird");
        for (r, router) in self.topology.routers.iter().enumerate() {
            let dir = self.run_dir.join(&router.name);
            let config = configs::bird_config(&self.topology, r, &dir);
            let conf = self.write(&Path::new(&router.name).join("bird.conf"), &config)?;
            system::run(Command::new(&bird).arg("-p").arg("-c").arg(&conf))?;
            let conf = conf.display().to_string();
            let socket = self.bird_socket(&router.name).display().to_string();
            self.spawn(
                &format!("{}/bird", router.name),
                &router.name,
                &bird,
                &["-f", "-c", &conf, "-s", &socket],
                &router.name,
                "bird",
            )?;
        }
        for router in &self.topology.routers {
            system::wait_for(
                &format!("BIRD's control socket on {}", router.name),
                Duration::from_secs(10),
                Duration::from_millis(20),
                || {
                    self.birdc(&router.name, &["show", "status"])
                        .contains("Daemon is up")
                        .then_some(())
                },
                || self.log(&router.name, "bird"),
            )?;
        }
        Ok(())
    }

    /// Makes the DNS tree (keys, signed zones, hints, trust anchor) and writes each file
    /// where its servers read it; returns what the lab's zone adds as its TLD.
    fn write_tree(t: &Topology, run_dir: &Path) -> Result<String, Error> {
        let signer = Signer::new(&run_dir.join(TREE_DIR))?;
        let put = |node: &str, file: &str, text: &str| -> Result<(), Error> {
            let dir = run_dir.join(node);
            fs::create_dir_all(&dir).map_err(|e| Error::io(dir.display(), e))?;
            let path = dir.join(file);
            fs::write(&path, text).map_err(|e| Error::io(path.display(), e))
        };
        let mut leaf_ds = String::new();
        let mut leaves = Vec::new();
        for leaf in tree::leaves(t) {
            let text = if leaf.chain == Chain::Unsigned {
                leaf.text.clone()
            } else {
                let keys = signer.make_keys(&leaf.origin)?;
                leaf_ds.push_str(&signer.ds(&keys)?);
                signer.sign(&leaf.origin, &leaf.text, &keys, leaf.chain)?
            };
            leaves.push((leaf, text));
        }
        let tld_keys = signer.make_keys(&t.zone)?;
        let root_keys = signer.make_keys(".")?;
        let root = signer.sign(
            ".",
            &tree::root_zone(t, &signer.ds(&tld_keys)?),
            &root_keys,
            Chain::Nsec,
        )?;
        let anchor = signer.ds(&root_keys)?;
        for site in &t.sites {
            for &c in &site.clouds {
                match t.clouds[c].serves {
                    Serves::Root | Serves::Leaves => {
                        if t.clouds[c].serves == Serves::Root {
                            put(&site.name, "root.zone", &root)?;
                        }
                        for (leaf, text) in &leaves {
                            put(&site.name, &leaf.file, text)?;
                        }
                    }
                    Serves::Resolver => {
                        put(&site.name, "root.hints", &tree::hints(t))?;
                        put(&site.name, "root.key", &format!("$TTL 3600\n{anchor}"))?;
                    }
                    Serves::Zone => {}
                }
            }
        }
        if let Some(slow) = &t.slow {
            if let Some((_, text)) = leaves.iter().find(|(l, _)| l.file == "far.zone") {
                put(&slow.name, "far.zone", text)?;
            }
        }
        let additions = tree::tld_additions(t, &leaf_ds);
        let path = run_dir.join(TREE_DIR).join(TLD_ADDITIONS);
        fs::write(&path, &additions).map_err(|e| Error::io(path.display(), e))?;
        Ok(additions)
    }

    /// The zones a tree cloud's instances serve: (origin, file).
    fn tree_zones(&self, cloud: usize) -> Vec<(String, String)> {
        let mut zones = Vec::new();
        if self.topology.clouds[cloud].serves == Serves::Root {
            zones.push((".".to_string(), "root.zone".to_string()));
        }
        zones.extend(
            tree::leaves(&self.topology)
                .into_iter()
                .map(|l| (l.origin, l.file)),
        );
        zones
    }

    fn write_zones(&self, serial: u32) -> Result<(), Error> {
        let mut text = configs::zone_text(&self.topology, serial, &self.tld_additions);
        if self.topology.has_tree() {
            // The tree's TLD is signed (its DS is in the root): again at every serial.
            let signer = Signer::existing(&self.run_dir.join(TREE_DIR));
            let keys = signer.keys(&self.topology.zone)?;
            text = signer.sign(&self.topology.zone, &text, &keys, Chain::Nsec)?;
        }
        let mut nodes: Vec<&str> = self
            .topology
            .sites
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        if let Some(p) = &self.topology.primary {
            nodes.push(&p.name);
        }
        if self.topology.transfers {
            // The sites get the zone from the primary (split-model sites load a file).
            nodes.retain(|n| {
                self.topology.primary.as_ref().is_some_and(|p| p.name == *n)
                    || self
                        .topology
                        .sites
                        .iter()
                        .any(|s| s.name == *n && s.is_split())
            });
        }
        for node in nodes {
            self.write(&Path::new(node).join("example.zone"), &text)?;
        }
        self.write(Path::new("serial"), &format!("{serial}\n"))?;
        *self.serial.lock().unwrap_or_else(|e| e.into_inner()) = serial;
        Ok(())
    }

    fn spawn_anyns(&self, node: &str, file: &str) -> Result<(), Error> {
        let conf = self.run_dir.join(node).join(format!("{file}.toml"));
        let conf = conf.display().to_string();
        let anyns = self.anyns_bin.clone();
        self.spawn(
            &format!("{node}/{file}"),
            node,
            &anyns,
            &["serve", "-c", &conf],
            node,
            file,
        )
    }

    fn start_instance_index(&self, site: usize, cloud: usize) -> Result<(), Error> {
        let s = &self.topology.sites[site];
        let file = format!("anyns-{}", self.topology.clouds[cloud].name);
        let config = match self.topology.clouds[cloud].serves {
            Serves::Zone => None,
            Serves::Root | Serves::Leaves => Some(configs::anyns_site_config(
                &self.topology,
                site,
                cloud,
                &configs::ZoneSource::Files(self.tree_zones(cloud)),
            )),
            Serves::Resolver => Some(configs::anyns_resolver_config(
                &self.topology,
                site,
                cloud,
                &self.control_socket(site, cloud),
            )),
        };
        if let Some(config) = config {
            let config = self.operable(config, site, cloud);
            self.write(&Path::new(&s.name).join(format!("{file}.toml")), &config)?;
            return self.spawn_anyns(&s.name.clone(), &file);
        }
        if s.is_split() {
            // Decision 0005's split model: DNS-only instances, then their announcer.
            for i in 0..s.instances {
                self.start_dns_instance_index(site, cloud, i)?;
            }
            let socket = self.control_socket(site, cloud);
            let node_dir = self.run_dir.join(&s.name);
            let config =
                configs::anyns_announcer_config(&self.topology, site, cloud, &socket, &node_dir);
            self.write(&Path::new(&s.name).join(format!("{file}.toml")), &config)?;
            return self.spawn_anyns(&s.name.clone(), &file);
        }
        let storage = self
            .run_dir
            .join(&s.name)
            .join(format!("storage-{}", self.topology.clouds[cloud].name));
        let source = match (&self.topology.primary, self.topology.transfers) {
            (Some(p), true) => configs::ZoneSource::Primary(v4(p.block, 2).into(), &storage),
            _ => configs::ZoneSource::File("example.zone"),
        };
        let config = configs::anyns_site_config(&self.topology, site, cloud, &source);
        let config = self.operable(config, site, cloud);
        self.write(&Path::new(&s.name).join(format!("{file}.toml")), &config)?;
        self.spawn_anyns(&s.name.clone(), &file)
    }

    /// A site instance's config as an operator would run it: a control socket (`anyns
    /// ctl`), and its health cloud named after the lab's cloud (so `anyns fleet` and the
    /// metrics say "ns1", not "default"); the checks are the defaults either way.
    fn operable(&self, mut config: String, site: usize, cloud: usize) -> String {
        if !config.contains("control-socket") {
            config = config.replacen(
                "[server]\n",
                &format!(
                    "[server]\ncontrol-socket = \"{}\"\n",
                    self.control_socket(site, cloud).display()
                ),
                1,
            );
        }
        if !config.contains("[health") {
            config.push_str(&format!(
                "\n[[health.cloud]]\nname = \"{}\"\n",
                self.topology.clouds[cloud].name
            ));
        }
        // Authoritative clouds: the fleet's shared cookie secret, and DNS over TLS on each
        // anycast address (port 853) with the shared certificate and ticket key.
        if !config.contains("service = \"resolver\"") {
            let fleet = self.run_dir.join(FLEET_DIR);
            config = config.replacen(
                "[server]\n",
                &format!(
                    "[server]\ncookie-secret-file = \"{}\"\n",
                    fleet.join("cookie.secret").display()
                ),
                1,
            );
            for address in &self.topology.clouds[cloud].addresses {
                config.push_str(&format!(
                    "\n[[listen]]\naddress = \"{}\"\nrole = \"anycast\"\ntransport = \"tls\"\n",
                    SocketAddr::new(*address, DOT_PORT)
                ));
            }
            config.push_str(&format!(
                "\n[tls]\ncertificate = \"{}\"\nkey = \"{}\"\nticket-key-file = \"{}\"\n",
                fleet.join("cert.pem").display(),
                fleet.join("key.pem").display(),
                fleet.join("ticket.key").display()
            ));
        }
        config
    }

    /// What every authoritative site of the lab shares, as a real fleet's sites do: the
    /// DNS-cookie secret (RFC 9018), and for the DNS-over-TLS listeners a certificate and
    /// the session-ticket key (`RUN_DIR/fleet/`).
    fn write_fleet_secrets(&self) -> Result<(), Error> {
        let dir = self.run_dir.join(FLEET_DIR);
        fs::create_dir_all(&dir).map_err(|e| Error::io(dir.display(), e))?;
        let random_hex = |octets: usize| -> Result<String, Error> {
            let mut bytes = vec![0u8; octets];
            std::io::Read::read_exact(
                &mut fs::File::open("/dev/urandom").map_err(|e| Error::io("/dev/urandom", e))?,
                &mut bytes,
            )
            .map_err(|e| Error::io("/dev/urandom", e))?;
            Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
        };
        self.write(
            &Path::new(FLEET_DIR).join("cookie.secret"),
            &(random_hex(16)? + "\n"),
        )?;
        self.write(
            &Path::new(FLEET_DIR).join("ticket.key"),
            &(random_hex(32)? + "\n"),
        )?;
        system::run(
            Command::new(system::tool("openssl"))
                .args(["req", "-x509", "-nodes", "-days", "7", "-newkey", "ec"])
                .args([
                    "-pkeyopt",
                    "ec_paramgen_curve:prime256v1",
                    "-subj",
                    "/CN=anyns-lab",
                ])
                .arg("-keyout")
                .arg(dir.join("key.pem"))
                .arg("-out")
                .arg(dir.join("cert.pem")),
        )?;
        Ok(())
    }

    /// The fleet inventory of this lab (`anyns fleet status --inventory`): each site with
    /// the status endpoint of each of its anyns processes (their unicast metrics address),
    /// each cloud with its anycast addresses.
    pub fn inventory(&self) -> String {
        let t = &self.topology;
        let mut text = String::from(
            "# Written by anyns-lab: the lab's sites for `anyns fleet status`.\ntimeout-ms = 1000\n",
        );
        for (s, site) in t.sites.iter().enumerate() {
            let endpoints: Vec<String> = site
                .clouds
                .iter()
                .map(|&c| {
                    format!(
                        "\"{}:{}\"",
                        t.instance_v4(s, c),
                        crate::metrics::METRICS_PORT
                    )
                })
                .collect();
            text.push_str(&format!(
                "\n[[site]]\nname = \"{}\"\nstatus = [{}]\n",
                site.name,
                endpoints.join(", ")
            ));
        }
        for cloud in &t.clouds {
            let addresses: Vec<String> =
                cloud.addresses.iter().map(|a| format!("\"{a}\"")).collect();
            text.push_str(&format!(
                "\n[[cloud]]\nname = \"{}\"\naddresses = [{}]\n",
                cloud.name,
                addresses.join(", ")
            ));
        }
        text
    }

    /// Starts `anyns fleet serve` over the lab's inventory in client `client`'s namespace,
    /// listening on that namespace's `127.0.0.1:port` (reach it from the host through a
    /// [`crate::forward::Forward`]); it stops with the lab.
    pub fn start_dashboard(&self, client: &str, port: u16) -> Result<(), Error> {
        if !self.topology.clients.iter().any(|c| c.name == client) {
            return Err(Error::NoLab(format!("no client {client:?}")));
        }
        let inventory = self.write(Path::new("fleet.toml"), &self.inventory())?;
        let inventory = inventory.display().to_string();
        let listen = format!("127.0.0.1:{port}");
        let anyns = self.anyns_bin.clone();
        self.spawn(
            &format!("{client}/dashboard"),
            client,
            &anyns,
            &[
                "fleet",
                "serve",
                "--inventory",
                &inventory,
                "--listen",
                &listen,
                "--interval",
                "1",
            ],
            client,
            "dashboard",
        )
    }

    /// Starts the connection probe (one long-lived TCP or TLS connection to `address`, a
    /// query every 20 ms for `duration`; `mode`: tcp, tls-resume, tls-full) in client
    /// `client`'s namespace; its stdout carries one JSON line per event.
    pub fn connection_probe(
        &self,
        client: &str,
        address: SocketAddr,
        mode: &str,
        duration: Duration,
    ) -> Result<Child, Error> {
        system::in_ns(&self.ns(client), &self.lab_bin)
            .arg("connection-probe")
            .arg(address.to_string())
            .args(["--mode", mode, "--qname", &self.topology.zone])
            .args(["--duration-ms", &duration.as_millis().to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Error::io("connection probe", e))
    }

    /// `anyns fleet status` run from client `client`'s namespace (its vantage point) over
    /// the lab's inventory; its output (`--json`: one JSON object).
    pub fn fleet(&self, client: &str, json: bool) -> Result<String, Error> {
        if !self.topology.clients.iter().any(|c| c.name == client) {
            return Err(Error::NoLab(format!("no client {client:?}")));
        }
        let inventory = self.run_dir.join("fleet.toml");
        self.write(Path::new("fleet.toml"), &self.inventory())?;
        let mut command = system::in_ns(&self.ns(client), &self.anyns_bin);
        command
            .args(["fleet", "status", "--inventory"])
            .arg(&inventory);
        if json {
            command.arg("--json");
        }
        system::run(&mut command)
    }

    fn start_dns_instance_index(&self, site: usize, cloud: usize, i: u32) -> Result<(), Error> {
        let s = &self.topology.sites[site];
        let file = format!("anyns-{}-{i}", self.topology.clouds[cloud].name);
        let config = configs::anyns_dns_instance_config(&self.topology, site, cloud, i);
        self.write(&Path::new(&s.name).join(format!("{file}.toml")), &config)?;
        self.spawn_anyns(&s.name.clone(), &file)
    }

    /// The control socket of site `site`'s announcer for `cloud` (split model).
    fn control_socket(&self, site: usize, cloud: usize) -> PathBuf {
        socket_dir_of(&self.prefix).join(format!(
            "{}-anyns-{}.sock",
            self.topology.sites[site].name, self.topology.clouds[cloud].name
        ))
    }

    /// The control socket of router `router`'s BIRD.
    pub fn bird_socket(&self, router: &str) -> PathBuf {
        socket_dir_of(&self.prefix).join(format!("{router}-bird.ctl"))
    }

    // ---------------------------------------------------------------------------------
    // Waiting

    /// Waits until every BGP protocol of every router is Established.
    pub fn wait_bgp(&self, timeout: Duration) -> Result<(), Error> {
        let pending = || -> Vec<String> {
            let mut pending = Vec::new();
            for (r, router) in self.topology.routers.iter().enumerate() {
                let out = self.birdc(&router.name, &["show", "protocols"]);
                for p in configs::bgp_protocols(&self.topology, r) {
                    let up = out.lines().any(|l| {
                        l.split_whitespace().next() == Some(&p) && l.contains("Established")
                    });
                    if !up {
                        pending.push(format!("{}:{p}", router.name));
                    }
                }
            }
            pending
        };
        system::wait_for(
            "every BGP session",
            timeout,
            Duration::from_millis(100),
            || pending().is_empty().then_some(()),
            || self.bgp_diagnosis(&pending()),
        )
    }

    /// What a timed-out wait for BGP shows: the sessions still down, the first one's
    /// state at its router (last error), every process's state, and the tail of each
    /// site instance's log, so a failure far away (CI) can be read without the lab.
    fn bgp_diagnosis(&self, pending: &[String]) -> String {
        let mut out = format!("not Established: {pending:?}\n");
        if let Some((router, protocol)) = pending.first().and_then(|p| p.split_once(':')) {
            out.push_str(&self.birdc(router, &["show", "protocols", "all", protocol]));
            out.push('\n');
        }
        out.push_str(&self.status());
        for s in &self.topology.sites {
            for &c in &s.clouds {
                let log = self.log(&s.name, &format!("anyns-{}", self.topology.clouds[c].name));
                let mut lines = log.lines();
                let header = lines.next().unwrap_or_default();
                let rest: Vec<&str> = lines.collect();
                out.push_str(&format!("\n{header}\n"));
                out.push_str(&rest[rest.len().saturating_sub(15)..].join("\n"));
            }
        }
        out
    }

    /// What a client asks a cloud to see which site answers, and whether with RD: the
    /// lab's zone of a zone cloud, the root of the root cloud, a leaf of a leaves cloud,
    /// the lab's zone through a resolver cloud.
    pub fn service_query(&self, cloud: usize) -> (String, bool) {
        match self.topology.clouds[cloud].serves {
            Serves::Zone => (self.topology.zone.clone(), false),
            Serves::Root => (".".into(), false),
            Serves::Leaves => (tree::tree_name(&self.topology, "plain"), false),
            Serves::Resolver => (self.topology.zone.clone(), true),
        }
    }

    /// Whether `answer` (to [`Self::service_query`]) shows `cloud` served: NOERROR with an
    /// NSID, authoritative from an authoritative cloud, recursive from a resolver cloud.
    pub fn served(&self, cloud: usize, answer: &crate::dns::Summary) -> bool {
        let kind = match self.topology.clouds[cloud].serves {
            Serves::Resolver => answer.ra && !answer.aa,
            _ => answer.aa,
        };
        answer.rcode == 0 && answer.nsid.is_some() && kind
    }

    /// Waits until every client gets an answer with an NSID from every service address.
    pub fn wait_all_served(&self, timeout: Duration) -> Result<(), Error> {
        let missing = || -> Vec<String> {
            let table = self.catchment();
            let mut missing = Vec::new();
            for (client, row) in self.topology.clients.iter().zip(&table) {
                for ((cloud, addr), r) in self.services().iter().zip(row) {
                    let served = r
                        .as_ref()
                        .and_then(ProbeRecord::answer)
                        .is_some_and(|a| self.served(*cloud, a));
                    if !served {
                        missing.push(format!("{} -> {addr}", client.name));
                    }
                }
            }
            missing
        };
        system::wait_for(
            "every client to reach every cloud",
            timeout,
            Duration::from_millis(200),
            || missing().is_empty().then_some(()),
            || format!("unanswered: {:?}", missing()),
        )
    }

    // ---------------------------------------------------------------------------------
    // Driving

    /// Every service address with its cloud, clouds in order.
    pub fn services(&self) -> Vec<(usize, IpAddr)> {
        self.topology
            .clouds
            .iter()
            .enumerate()
            .flat_map(|(i, c)| c.addresses.iter().map(move |&a| (i, a)))
            .collect()
    }

    /// Runs a probe in client `client`'s namespace to completion.
    pub fn probe(&self, client: &str, options: &ProbeOptions) -> Result<Vec<ProbeRecord>, Error> {
        Ok(self.stream(client, options)?.finish())
    }

    /// Starts a probe in client `client`'s namespace; its records arrive as it runs.
    pub fn stream(&self, client: &str, options: &ProbeOptions) -> Result<Stream, Error> {
        Stream::start(&self.ns(client), &self.lab_bin, options)
    }

    /// For every client (in order), one SOA query to every service address (in
    /// [`Self::services`] order), each cloud asked its [`Self::service_query`]; the clients
    /// ask in parallel.
    pub fn catchment(&self) -> Vec<Vec<Option<ProbeRecord>>> {
        let services = self.services();
        let mut groups: Vec<((String, bool), Vec<IpAddr>)> = Vec::new();
        for &(cloud, address) in &services {
            let query = self.service_query(cloud);
            match groups.iter_mut().find(|(q, _)| *q == query) {
                Some((_, servers)) => servers.push(address),
                None => groups.push((query, vec![address])),
            }
        }
        let streams: Vec<Vec<Option<Stream>>> = self
            .topology
            .clients
            .iter()
            .map(|c| {
                groups
                    .iter()
                    .map(|((qname, rd), servers)| {
                        let options = ProbeOptions {
                            rd: *rd,
                            ..ProbeOptions::once(servers, qname)
                        };
                        self.stream(&c.name, &options).ok()
                    })
                    .collect()
            })
            .collect();
        streams
            .into_iter()
            .map(|client| {
                let records: Vec<ProbeRecord> = client
                    .into_iter()
                    .flat_map(|s| s.map(Stream::finish).unwrap_or_default())
                    .collect();
                services
                    .iter()
                    .map(|(_, a)| records.iter().find(|r| r.server == *a).cloned())
                    .collect()
            })
            .collect()
    }

    /// The catchment as a table: a row per client, a column per service address, each
    /// cell the answering site (NSID) and round-trip time.
    pub fn catchment_table(&self) -> String {
        let services = self.services();
        let headers: Vec<String> = services
            .iter()
            .map(|&(c, a)| format!("{} {a}", self.topology.clouds[c].name))
            .collect();
        let mut header = vec!["client"];
        header.extend(headers.iter().map(String::as_str));
        let mut table = Table::new(&header);
        for (client, row) in self.topology.clients.iter().zip(self.catchment()) {
            let mut cells = vec![format!(
                "{} (at {})",
                client.name, self.topology.routers[client.router].name
            )];
            for r in row {
                cells.push(match r.as_ref().and_then(|r| Some((r.nsid()?, r.rtt?))) {
                    Some((nsid, rtt)) => format!("{nsid:<4} {}", ms(rtt)),
                    None => "no answer".into(),
                });
            }
            table.row(cells);
        }
        table.render()
    }

    fn instance_key(&self, site: &str, cloud: &str) -> Result<(String, String), Error> {
        let s = self
            .topology
            .site(site)
            .ok_or_else(|| Error::NoLab(format!("no site {site:?}")))?;
        let c = self
            .topology
            .cloud(cloud)
            .ok_or_else(|| Error::NoLab(format!("no cloud {cloud:?}")))?;
        if !self.topology.sites[s].clouds.contains(&c) {
            return Err(Error::NoLab(format!("site {site} does not serve {cloud}")));
        }
        Ok((site.to_string(), format!("anyns-{cloud}")))
    }

    /// The metrics of site `site`'s anyns for `cloud` (a `GET /metrics` on its unicast
    /// address, from inside the site's namespace).
    pub fn scrape(&self, site: &str, cloud: &str) -> Result<HashMap<String, f64>, Error> {
        self.instance_key(site, cloud)?;
        let (Some(s), Some(c)) = (self.topology.site(site), self.topology.cloud(cloud)) else {
            return Err(Error::NoLab(format!("no instance of {cloud} at {site}")));
        };
        let address = SocketAddr::new(
            self.topology.instance_v4(s, c).into(),
            crate::metrics::METRICS_PORT,
        );
        let text = system::run(
            system::in_ns(&self.ns(site), &self.lab_bin)
                .arg("scrape")
                .arg(address.to_string()),
        )?;
        Ok(crate::metrics::parse_samples(&text))
    }

    /// PID of site `site`'s anyns for `cloud`, if running.
    pub fn instance_pid(&self, site: &str, cloud: &str) -> Option<u32> {
        let (node, file) = self.instance_key(site, cloud).ok()?;
        system::read_pid(&self.run_dir.join(node).join(format!("{file}.pid")))
            .filter(|&p| system::alive(p))
    }

    /// Sends `signal` to site `site`'s anyns for `cloud` and waits (up to `timeout`) for it
    /// to exit. Returns when the signal was sent and how long the exit took.
    pub fn stop_instance(
        &self,
        site: &str,
        cloud: &str,
        signal: &str,
        timeout: Duration,
    ) -> Result<(SystemTime, Duration), Error> {
        let (node, file) = self.instance_key(site, cloud)?;
        let pid = self
            .instance_pid(site, cloud)
            .ok_or_else(|| Error::NoLab(format!("{site}/{cloud} is not running")))?;
        let at = SystemTime::now();
        let began = Instant::now();
        system::signal(pid, signal)?;
        let mut children = self.children.lock().unwrap_or_else(|e| e.into_inner());
        let child = children.get_mut(&format!("{node}/{file}"));
        if !system::wait_exit(pid, child, timeout) {
            return Err(Error::Timeout {
                what: format!("{site}/{cloud} (pid {pid}) to exit after SIG{signal}"),
            });
        }
        children.remove(&format!("{node}/{file}"));
        Ok((at, began.elapsed()))
    }

    /// Starts site `site`'s anyns for `cloud` again (same config and zone file).
    pub fn start_instance(&self, site: &str, cloud: &str) -> Result<SystemTime, Error> {
        let (node, file) = self.instance_key(site, cloud)?;
        let at = SystemTime::now();
        self.spawn_anyns(&node, &file)?;
        Ok(at)
    }

    /// PID of DNS instance `i` of site `site` for `cloud` (split model), if running.
    pub fn dns_instance_pid(&self, site: &str, cloud: &str, i: u32) -> Option<u32> {
        let (node, file) = self.instance_key(site, cloud).ok()?;
        system::read_pid(&self.run_dir.join(node).join(format!("{file}-{i}.pid")))
            .filter(|&p| system::alive(p))
    }

    /// Sends `signal` (e.g. `STOP`, `CONT`, `KILL`) to DNS instance `i` of site `site` for
    /// `cloud` (split model) without waiting; returns when it was sent.
    pub fn signal_dns_instance(
        &self,
        site: &str,
        cloud: &str,
        i: u32,
        signal: &str,
    ) -> Result<SystemTime, Error> {
        let pid = self.dns_instance_pid(site, cloud, i).ok_or_else(|| {
            Error::NoLab(format!("{site}/{cloud} DNS instance {i} is not running"))
        })?;
        let at = SystemTime::now();
        system::signal(pid, signal)?;
        Ok(at)
    }

    /// Kills DNS instance `i` (SIGKILL) and waits for its exit; returns when it was sent.
    pub fn kill_dns_instance(&self, site: &str, cloud: &str, i: u32) -> Result<SystemTime, Error> {
        let (node, file) = self.instance_key(site, cloud)?;
        let key = format!("{node}/{file}-{i}");
        let pid = self.dns_instance_pid(site, cloud, i).ok_or_else(|| {
            Error::NoLab(format!("{site}/{cloud} DNS instance {i} is not running"))
        })?;
        let at = SystemTime::now();
        system::signal(pid, "KILL")?;
        let mut children = self.children.lock().unwrap_or_else(|e| e.into_inner());
        if !system::wait_exit(pid, children.get_mut(&key), Duration::from_secs(5)) {
            return Err(Error::Timeout {
                what: format!("{key} (pid {pid}) to exit after SIGKILL"),
            });
        }
        children.remove(&key);
        Ok(at)
    }

    /// Starts DNS instance `i` of site `site` for `cloud` again (split model).
    pub fn start_dns_instance(&self, site: &str, cloud: &str, i: u32) -> Result<SystemTime, Error> {
        let s = self
            .topology
            .site(site)
            .ok_or_else(|| Error::NoLab(format!("no site {site:?}")))?;
        let c = self
            .topology
            .cloud(cloud)
            .ok_or_else(|| Error::NoLab(format!("no cloud {cloud:?}")))?;
        let at = SystemTime::now();
        self.start_dns_instance_index(s, c, i)?;
        Ok(at)
    }

    /// Runs `anyns COMMAND` (`drain`, `undrain`, `status`) against site `site`'s announcer
    /// for `cloud` (split model: its control socket); its output.
    pub fn control(&self, site: &str, cloud: &str, command: &str) -> Result<String, Error> {
        let s = self
            .topology
            .site(site)
            .ok_or_else(|| Error::NoLab(format!("no site {site:?}")))?;
        let c = self
            .topology
            .cloud(cloud)
            .ok_or_else(|| Error::NoLab(format!("no cloud {cloud:?}")))?;
        let out = Command::new(&self.anyns_bin)
            .arg(command)
            .arg("--socket")
            .arg(self.control_socket(s, c))
            .output()
            .map_err(|e| Error::io("anyns control", e))?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr))
    }

    /// Runs `anyns ARGS --socket SOCKET` against site `site`'s anyns for `cloud` (a resolver
    /// site or a split-model announcer: those have a control socket), e.g.
    /// `["flush", "--all"]`; its output.
    pub fn control_args(&self, site: &str, cloud: &str, args: &[&str]) -> Result<String, Error> {
        let (Some(s), Some(c)) = (self.topology.site(site), self.topology.cloud(cloud)) else {
            return Err(Error::NoLab(format!("no instance of {cloud} at {site}")));
        };
        let out = Command::new(&self.anyns_bin)
            .args(args)
            .arg("--socket")
            .arg(self.control_socket(s, c))
            .output()
            .map_err(|e| Error::io("anyns control", e))?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr))
    }

    /// Loads an nftables script (`nft -f -`) in node `node`'s namespace: only the lab's
    /// own namespaces, so nothing can reach the host's ruleset. Scripts keep to a table of
    /// their own, which goes away with the namespace.
    pub fn nft(&self, node: &str, script: &str) -> Result<String, Error> {
        if !self.topology.node_names().contains(&node) {
            return Err(Error::NoLab(format!("no lab node {node:?}")));
        }
        let mut child = system::in_ns(&self.ns(node), &system::tool("nft"))
            .args(["-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Error::io("nft", e))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(script.as_bytes())
                .map_err(|e| Error::io("nft", e))?;
        }
        let out = child.wait_with_output().map_err(|e| Error::io("nft", e))?;
        if !out.status.success() {
            return Err(Error::Command {
                command: format!("nft -f - in {node}: {script}"),
                output: String::from_utf8_lossy(&out.stderr).into_owned(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `nft list table inet TABLE` in node `node`'s namespace.
    pub fn nft_table(&self, node: &str, table: &str) -> Result<String, Error> {
        if !self.topology.node_names().contains(&node) {
            return Err(Error::NoLab(format!("no lab node {node:?}")));
        }
        system::run(
            system::in_ns(&self.ns(node), &system::tool("nft"))
                .args(["list", "table", "inet", table]),
        )
    }

    /// Starts recording, at each of `nodes`, the source address of every DNS query (TCP or
    /// UDP port 53) arriving over its links (not from its own `lo`), in nftables sets of
    /// the table [`SOURCES_TABLE`]: who queries the tree's servers.
    pub fn record_dns_sources(&self, nodes: &[&str]) -> Result<(), Error> {
        let t = SOURCES_TABLE;
        for node in nodes {
            let script = format!(
                "add table inet {t}\n\
                 add set inet {t} src4 {{ type ipv4_addr; flags dynamic; }}\n\
                 add set inet {t} src6 {{ type ipv6_addr; flags dynamic; }}\n\
                 add chain inet {t} count {{ type filter hook prerouting priority -300; policy accept; }}\n\
                 add rule inet {t} count iifname \"to-*\" meta l4proto {{ tcp, udp }} th dport 53 add @src4 {{ ip saddr }}\n\
                 add rule inet {t} count iifname \"to-*\" meta l4proto {{ tcp, udp }} th dport 53 add @src6 {{ ip6 saddr }}\n"
            );
            self.nft(node, &script)?;
        }
        Ok(())
    }

    /// The sources [`Self::record_dns_sources`] saw at `node` so far.
    pub fn dns_sources(&self, node: &str) -> Result<std::collections::BTreeSet<IpAddr>, Error> {
        let text = self.nft_table(node, SOURCES_TABLE)?;
        let mut set = std::collections::BTreeSet::new();
        for part in text.split("elements = {").skip(1) {
            let inside = part.split('}').next().unwrap_or_default();
            set.extend(
                inside
                    .split([',', ' ', '\n', '\t'])
                    .filter_map(|token| token.trim().parse::<IpAddr>().ok()),
            );
        }
        Ok(set)
    }

    /// The resolver sites' unicast addresses, both families.
    pub fn resolver_unicast(&self) -> std::collections::BTreeSet<IpAddr> {
        let t = &self.topology;
        let mut set = std::collections::BTreeSet::new();
        for (s, site) in t.sites.iter().enumerate() {
            for &c in site
                .clouds
                .iter()
                .filter(|&&c| t.clouds[c].serves == Serves::Resolver)
            {
                set.insert(IpAddr::V4(t.instance_v4(s, c)));
                set.insert(IpAddr::V6(t.instance_v6(s, c)));
            }
        }
        set
    }

    /// The nodes serving the DNS tree: sites of its clouds and of the lab's zone, and the
    /// unicast-only server.
    pub fn tree_nodes(&self) -> Vec<String> {
        let t = &self.topology;
        (0..t.sites.len())
            .filter(|&s| !t.is_resolver_site(s))
            .map(|s| t.sites[s].name.clone())
            .chain(t.slow.iter().map(|h| h.name.clone()))
            .collect()
    }

    /// Runs `birdc` against router `router`'s BIRD; its output (empty if it fails).
    pub fn birdc(&self, router: &str, args: &[&str]) -> String {
        let socket = self.bird_socket(router);
        Command::new(system::tool("birdc"))
            .arg("-s")
            .arg(socket)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    /// The BGP protocol whose route router `router` uses for host route `address`, if any
    /// (BIRD marks the best route with `*`).
    pub fn best_route(&self, router: &str, address: IpAddr) -> Option<String> {
        let len = if address.is_ipv4() { 32 } else { 128 };
        let out = self.birdc(router, &["show", "route", &format!("{address}/{len}")]);
        out.lines().filter(|l| l.contains(" * ")).find_map(|l| {
            let after = l.split_once('[')?.1;
            Some(after.split_whitespace().next()?.to_string())
        })
    }

    /// Polls (every 10 ms, up to `timeout`) until router `router`'s best route to
    /// `address` differs from `from`; returns when it was seen and the new best route.
    pub fn watch_route_change(
        &self,
        router: &str,
        address: IpAddr,
        from: Option<&str>,
        timeout: Duration,
    ) -> Option<(SystemTime, Option<String>)> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            let now = self.best_route(router, address);
            if now.as_deref() != from {
                return Some((SystemTime::now(), now));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    /// BIRD's name of the session between `router` and site `site`'s instance for
    /// `cloud`.
    pub fn site_protocol(&self, site: &str, cloud: &str, v6: bool) -> Option<String> {
        let s = self.topology.site(site)?;
        let c = self.topology.cloud(cloud)?;
        Some(configs::site_protocol(&self.topology, s, c, v6))
    }

    /// The router site `site` hangs off.
    pub fn router_of_site(&self, site: &str) -> Option<&str> {
        let s = self.topology.site(site)?;
        Some(&self.topology.routers[self.topology.sites[s].router].name)
    }

    /// The unicast address of site `site`'s instance for `cloud`.
    pub fn instance_address(&self, site: &str, cloud: &str) -> Option<IpAddr> {
        let s = self.topology.site(site)?;
        let c = self.topology.cloud(cloud)?;
        Some(self.topology.instance_v4(s, c).into())
    }

    /// The primary's unicast address.
    pub fn primary_address(&self) -> Option<IpAddr> {
        self.topology
            .primary
            .as_ref()
            .map(|p| v4(p.block, 2).into())
    }

    /// The zone's current serial.
    pub fn serial(&self) -> u32 {
        *self.serial.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Publishes a new serial: rewrites the zone file (atomically) and sends SIGHUP. With
    /// transfers only the primary's file changes: it NOTIFYs the sites, which pull the
    /// change by IXFR over their unicast addresses. Without, every site's copy is
    /// rewritten and every anyns reloads. Returns when the signals went out.
    pub fn publish_serial(&self, serial: u32) -> Result<SystemTime, Error> {
        self.write_zones(serial)?;
        let at = SystemTime::now();
        let pids = match (&self.topology.primary, self.topology.transfers) {
            (Some(p), true) => system::read_pid(&self.run_dir.join(&p.name).join("anyns.pid"))
                .into_iter()
                .collect(),
            _ => self.anyns_pids(),
        };
        for pid in pids {
            system::signal(pid, "HUP")?;
        }
        Ok(at)
    }

    /// Whether router `router` has a route covering `address`.
    pub fn has_route_for(&self, router: &str, address: IpAddr) -> bool {
        self.birdc(router, &["show", "route", "for", &address.to_string()])
            .contains("unicast")
    }

    /// PIDs of every running anyns (sites and primary).
    pub fn anyns_pids(&self) -> Vec<u32> {
        let mut pids = Vec::new();
        for s in &self.topology.sites {
            for &c in &s.clouds {
                let cloud = &self.topology.clouds[c].name;
                if let Some(p) = self.instance_pid(&s.name, cloud) {
                    pids.push(p);
                }
                if s.is_split() {
                    pids.extend(
                        (0..s.instances).filter_map(|i| self.dns_instance_pid(&s.name, cloud, i)),
                    );
                }
            }
        }
        if let Some(p) = &self.topology.primary {
            if let Some(pid) = system::read_pid(&self.run_dir.join(&p.name).join("anyns.pid")) {
                if system::alive(pid) {
                    pids.push(pid);
                }
            }
        }
        pids
    }

    /// A log file of node `node` (`bird`, `anyns-ns1`, ...).
    pub fn log(&self, node: &str, file: &str) -> String {
        let path = self.run_dir.join(node).join(format!("{file}.log"));
        format!(
            "---- {} ----\n{}",
            path.display(),
            fs::read_to_string(&path).unwrap_or_default()
        )
    }

    /// A human summary: processes, BGP sessions, best routes, catchment.
    pub fn status(&self) -> String {
        let mut out = format!(
            "lab in {} (namespaces {}-*)\n\n",
            self.run_dir.display(),
            self.prefix
        );
        let existing = system::netns_list();
        let mut table = Table::new(&["namespace", "process", "pid", "state"]);
        for r in &self.topology.routers {
            table.row(self.process_row(&r.name, "bird", &existing));
        }
        for s in &self.topology.sites {
            for &c in &s.clouds {
                table.row(self.process_row(
                    &s.name,
                    &format!("anyns-{}", self.topology.clouds[c].name),
                    &existing,
                ));
                if s.is_split() {
                    for i in 0..s.instances {
                        table.row(self.process_row(
                            &s.name,
                            &format!("anyns-{}-{i}", self.topology.clouds[c].name),
                            &existing,
                        ));
                    }
                }
            }
        }
        for p in self.topology.primary.iter().chain(&self.topology.slow) {
            table.row(self.process_row(&p.name, "anyns", &existing));
        }
        out.push_str(&table.render());
        let mut header = vec!["router".to_string(), "BGP sessions up".to_string()];
        let services = self.services();
        header.extend(services.iter().map(|(_, a)| format!("best route to {a}")));
        let header_refs: Vec<&str> = header.iter().map(String::as_str).collect();
        let mut routes = Table::new(&header_refs);
        for (r, router) in self.topology.routers.iter().enumerate() {
            let protocols = configs::bgp_protocols(&self.topology, r);
            let shown = self.birdc(&router.name, &["show", "protocols"]);
            let up = protocols
                .iter()
                .filter(|p| {
                    shown.lines().any(|l| {
                        l.split_whitespace().next() == Some(p) && l.contains("Established")
                    })
                })
                .count();
            let mut row = vec![router.name.clone(), format!("{up}/{}", protocols.len())];
            for (_, a) in &services {
                row.push(
                    self.best_route(&router.name, *a)
                        .unwrap_or_else(|| "-".into()),
                );
            }
            routes.row(row);
        }
        out.push('\n');
        out.push_str(&routes.render());
        out.push_str("\ncatchment (site answering each client, by NSID):\n");
        out.push_str(&self.catchment_table());
        out
    }

    fn process_row(&self, node: &str, file: &str, existing: &[String]) -> Vec<String> {
        let ns = self.ns(node);
        let pid = system::read_pid(&self.run_dir.join(node).join(format!("{file}.pid")));
        let state = match pid {
            _ if !existing.contains(&ns) => "no namespace",
            Some(p) if system::alive(p) => "running",
            Some(_) => "exited",
            None => "not started",
        };
        vec![
            ns,
            file.to_string(),
            pid.map_or_else(|| "-".into(), |p| p.to_string()),
            state.to_string(),
        ]
    }

    // ---------------------------------------------------------------------------------
    // Tearing down

    /// Tears this lab down (see [`Self::down_dir`]).
    pub fn down(&mut self) -> Result<DownReport, Error> {
        let report = Self::down_dir(&self.run_dir)?;
        let mut children = self.children.lock().unwrap_or_else(|e| e.into_inner());
        for (_, mut child) in children.drain() {
            let _ = child.try_wait();
        }
        Ok(report)
    }

    /// Tears down whatever lab lives in `run_dir`: every process inside its namespaces is
    /// stopped by PID (TERM to all, ≤ 3 s, then KILL), then the namespaces are deleted —
    /// only those listed in the run directory or carrying both the run directory's prefix
    /// and the marker bridge. Safe to run at any time, any number of times.
    pub fn down_dir(run_dir: &Path) -> Result<DownReport, Error> {
        let started = Instant::now();
        let Ok(run_dir) = run_dir.canonicalize() else {
            return Ok(DownReport::default());
        };
        let prefix = format!("{}-", prefix_of(&run_dir));
        let listed: Vec<String> = fs::read_to_string(run_dir.join("namespaces"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect();
        let ours: Vec<String> = system::netns_list()
            .into_iter()
            .filter(|ns| listed.contains(ns) || (ns.starts_with(&prefix) && system::has_marker(ns)))
            .collect();
        let pids: Vec<u32> = ours.iter().flat_map(|ns| system::netns_pids(ns)).collect();
        system::stop_all(&pids, Duration::from_secs(3));
        let ip = system::tool("ip");
        for ns in &ours {
            system::run(Command::new(&ip).args(["netns", "del", ns]))?;
        }
        let _ = fs::remove_file(run_dir.join("namespaces"));
        let _ = fs::remove_dir_all(socket_dir_of(&prefix_of(&run_dir)));
        Ok(DownReport {
            namespaces: ours.len(),
            processes: pids.len(),
            took: started.elapsed(),
        })
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if !self.keep {
            if let Err(e) = self.down() {
                eprintln!("anyns-lab: teardown of {}: {e}", self.run_dir.display());
            }
        }
    }
}
