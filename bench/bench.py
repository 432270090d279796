#!/usr/bin/env python3
"""anyns vs Knot vs NSD: qps (dnsperf), instructions per query (callgrind), 1M-record zone
load time and memory. Loopback only; every server is started here and stopped by PID."""

import glob
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ANYNS = os.path.join(ROOT, "target", "release", "anyns")
ORIGIN = "bench.example."
QPS_SECONDS = 8
ICOUNT_QUERIES = 20000
BIG_RECORDS = 1_000_000
HUGE_RECORDS = 10_000_000
# `anyns-window`, `anyns-resolver-window`: anyns with `udp-batch-window-us` set to this.
BATCH_WINDOW_US = 250


def write_zone(path, names, serial=1, changed=0):
    """The bench zone: `names` A records; with `changed`, every (names // changed)-th record
    gets another address (the 1% of an update) and the serial is `serial`."""
    step = names // changed if changed else 0
    with open(path, "w") as f:
        f.write(f"$ORIGIN {ORIGIN}\n$TTL 3600\n")
        f.write(f"@ SOA ns1 hostmaster {serial} 7200 3600 1209600 300\n@ NS ns1\n@ NS ns2\n")
        f.write("ns1 A 192.0.2.1\nns2 A 192.0.2.2\n")
        for i in range(names):
            last = (i & 255) if not (step and i % step == 0) else 255 - (i & 255) ^ 1
            f.write(f"h{i} A 198.51.{(i >> 8) & 255}.{last}\n")


def write_queries(path, names, count):
    rng = random.Random(42)
    with open(path, "w") as f:
        for _ in range(count):
            r = rng.random()
            i = rng.randrange(names)
            if r < 0.8:
                f.write(f"h{i}.{ORIGIN} A\n")
            elif r < 0.9:
                f.write(f"nx{i}.{ORIGIN} A\n")
            else:
                f.write(f"h{i}.{ORIGIN} MX\n")


def free_port():
    """A port free for both UDP and TCP on 127.0.0.1."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                try:
                    t.bind(("127.0.0.1", port))
                    return port
                except OSError:
                    continue
    raise RuntimeError("no free port")


def soa_query(rd=False):
    qname = b"".join(bytes([len(l)]) + l.encode() for l in ORIGIN.rstrip(".").split(".")) + b"\0"
    flags = 0x0100 if rd else 0
    return struct.pack("!HHHHHH", 0x4242, flags, 1, 0, 0, 0) + qname + struct.pack("!HH", 6, 1)


def answers(port, timeout=0.2, rd=False):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.sendto(soa_query(rd), ("127.0.0.1", port))
            data = s.recv(4096)
            return len(data) > 12 and data[3] & 0xF == 0 and struct.unpack("!H", data[6:8])[0] > 0
        except OSError:
            return False


def skip_name(data, at):
    """The offset after the (possibly compressed) name at `at`."""
    while True:
        length = data[at]
        if length == 0:
            return at + 1
        if length & 0xC0 == 0xC0:
            return at + 2
        at += 1 + length


def serial_of(port, timeout=0.2):
    """The SOA serial the server at 127.0.0.1:`port` answers for ORIGIN, or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.sendto(soa_query(), ("127.0.0.1", port))
            data = s.recv(4096)
        except OSError:
            return None
    if len(data) < 12 or data[3] & 0xF != 0 or struct.unpack("!H", data[6:8])[0] == 0:
        return None
    at = skip_name(data, 12) + 4  # the question
    at = skip_name(data, at) + 10  # the SOA's owner, type, class, TTL, RDLENGTH
    at = skip_name(data, skip_name(data, at))  # MNAME, RNAME
    return struct.unpack("!I", data[at:at + 4])[0]


def wait_serial(port, serial, limit, interval=0.002):
    """Seconds until the server answers `serial`, polling every `interval`; None past `limit`."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if serial_of(port) == serial:
            return time.monotonic() - started
        time.sleep(interval)
    return None


class Server:
    """One server under test: config in a temp dir, started on a CPU, stopped by PID."""

    def __init__(self, kind, zone, port, workdir, prefix=(), host="127.0.0.1", upstream=None):
        self.kind, self.zone, self.port, self.dir, self.prefix = kind, zone, port, workdir, list(prefix)
        self.host = host  # the listen address; clients always query 127.0.0.1
        self.upstream = upstream  # resolvers: the port of the authoritative server for ORIGIN
        self.proc = None

    def command(self):
        if self.kind in ("anyns", "anyns-window"):
            window = ["--udp-batch-window-us", str(BATCH_WINDOW_US)] if self.kind == "anyns-window" else []
            return [ANYNS, "serve", "--zone", f"{ORIGIN}={self.zone}", "--listen",
                    f"{self.host}:{self.port}", "--udp-workers", "1"] + window
        if self.kind in ("knot", "knot-cookies"):
            conf = os.path.join(self.dir, "knot.conf")
            module = "    global-module: mod-cookies\n" if self.kind == "knot-cookies" else ""
            with open(conf, "w") as f:
                f.write(f"""server:
    rundir: {self.dir}
    listen: {self.host}@{self.port}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
    udp-max-payload: 1232
control:
    listen: {self.dir}/knot.sock
database:
    storage: {self.dir}
template:
  - id: default
    storage: {self.dir}
    zonefile-sync: -1
    journal-content: none
    semantic-checks: off
{module}zone:
  - domain: {ORIGIN}
    file: {self.zone}
""")
            return ["knotd", "-c", conf]
        if self.kind == "bind":
            conf = os.path.join(self.dir, "named.conf")
            with open(conf, "w") as f:
                f.write(f"""options {{
    directory "{self.dir}";
    pid-file "{self.dir}/named.pid";
    listen-on port {self.port} {{ {self.host}; }};
    listen-on-v6 {{ none; }};
    recursion no;
    dnssec-validation no;
    notify no;
    minimal-responses yes;
    answer-cookie yes;
    cookie-algorithm siphash24;
}};
zone "{ORIGIN}" {{ type primary; file "{self.zone}"; }};
""")
            # One worker thread and one UDP dispatcher, as the others run.
            return ["named", "-g", "-n", "1", "-U", "1", "-c", conf]
        if self.kind == "nsd":
            conf = os.path.join(self.dir, "nsd.conf")
            with open(conf, "w") as f:
                f.write(f"""server:
    ip-address: {self.host}@{self.port}
    server-count: 1
    reuseport: yes
    username: ""
    database: ""
    zonelistfile: "{self.dir}/zone.list"
    xfrdfile: "{self.dir}/xfrd.state"
    pidfile: "{self.dir}/nsd.pid"
    zonesdir: "{self.dir}"
    logfile: "{self.dir}/nsd.log"
    verbosity: 0
    rrl-ratelimit: 0
    minimal-responses: yes
remote-control:
    control-enable: no
zone:
    name: {ORIGIN}
    zonefile: {self.zone}
""")
            return ["nsd", "-d", "-c", conf]
        if self.kind in ("anyns-resolver", "anyns-resolver-window"):
            conf = os.path.join(self.dir, "anyns.toml")
            window = BATCH_WINDOW_US if self.kind == "anyns-resolver-window" else 0
            with open(conf, "w") as f:
                f.write(f"""[server]
udp-workers = 1
udp-batch-window-us = {window}
[[listen]]
address = "127.0.0.1:{self.port}"
role = "unicast"
service = "resolver"
[resolver]
dnssec-validation = false  # as Unbound (iterator) and PowerDNS (dnssec=off) here
[[resolver.stub]]
zone = "{ORIGIN}"
servers = ["127.0.0.1:{self.upstream}"]
""")
            return [ANYNS, "serve", "-c", conf]
        if self.kind == "unbound":
            conf = os.path.join(self.dir, "unbound.conf")
            with open(conf, "w") as f:
                f.write(f"""server:
    interface: 127.0.0.1@{self.port}
    port: {self.port}
    num-threads: 1
    so-reuseport: no
    username: ""
    chroot: ""
    directory: "{self.dir}"
    pidfile: "{self.dir}/unbound.pid"
    do-daemonize: no
    use-syslog: no
    verbosity: 0
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no
    module-config: "iterator"
    msg-cache-size: 128m
    rrset-cache-size: 256m
    qname-minimisation: yes
stub-zone:
    name: "{ORIGIN}"
    stub-addr: 127.0.0.1@{self.upstream}
remote-control:
    control-enable: no
""")
            return ["unbound", "-d", "-c", conf]
        if self.kind == "pdns-recursor":
            with open(os.path.join(self.dir, "recursor.conf"), "w") as f:
                f.write(f"""local-address=127.0.0.1
local-port={self.port}
threads=1
pdns-distributes-queries=no
forward-zones={ORIGIN}=127.0.0.1:{self.upstream}
socket-dir={self.dir}
daemon=no
write-pid=no
allow-from=127.0.0.0/8
dnssec=off
quiet=yes
disable-syslog=yes
""")
            return ["pdns_recursor", f"--config-dir={self.dir}"]
        raise ValueError(self.kind)

    def is_resolver(self):
        return self.kind in ("anyns-resolver", "anyns-resolver-window", "unbound", "pdns-recursor")

    def cpu_seconds(self):
        """User plus system CPU of the process (all its threads) so far."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def start(self, cpu=None, wait=60.0):
        cmd = self.prefix + self.command()
        if cpu is not None:
            cmd = ["taskset", "-c", str(cpu)] + cmd
        self.started = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.dir, "stderr"), "w"),
                                     start_new_session=True)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited: " + open(os.path.join(self.dir, "stderr")).read()[-2000:])
            # A short wait per probe: before the port is bound a probe gets no answer, and
            # the kernel rate-limits the ICMP errors that would end the wait early, so a
            # long one would round every start-up time up to its multiple.
            if answers(self.port, timeout=0.02, rd=self.is_resolver()):
                self.ready = time.monotonic() - self.started
                return self
            time.sleep(0.005)
        self.stop()
        raise RuntimeError(f"{self.kind} did not answer within {wait} s")

    def pss_kib(self):
        """PSS of the server's process group (NSD forks), from smaps_rollup."""
        return self.group_kib("smaps_rollup", "Pss")

    def group_kib(self, file, field):
        """The sum of `field` (kB) in /proc/PID/`file` over the server's process group."""
        total = 0
        pgid = self.proc.pid
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                if os.getpgid(int(pid)) != pgid:
                    continue
                with open(f"/proc/{pid}/{file}") as f:
                    m = re.search(rf"^{field}:\s+(\d+) kB", f.read(), re.M)
                    total += int(m.group(1)) if m else 0
            except (OSError, ProcessLookupError):
                continue
        return total

    def stop(self):
        stop_group(self.proc)


def stop_group(proc):
    """Stops a server started in its own session: SIGTERM to its group, SIGKILL after 30 s."""
    if proc and proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def run_dnsperf(port, queries, seconds=None, once=False, rate=None, timeout=2, extra=(), latency=False,
                outstanding=500):
    """(answers/s, queries lost), and the average latency in seconds with `latency`."""
    cmd = ["taskset", "-c", "1", "dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", queries,
           "-c", "4", "-q", str(outstanding), "-t", str(timeout)] + list(extra)
    cmd += ["-n", "1"] if once else ["-l", str(seconds)]
    if rate:
        cmd += ["-Q", str(rate)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=(seconds or 120) + 60).stdout
    qps = re.search(r"Queries per second:\s+([\d.]+)", out)
    lost = re.search(r"Queries lost:\s+(\d+)", out)
    result = (float(qps.group(1)) if qps else 0.0, int(lost.group(1)) if lost else -1)
    if latency:
        average = re.search(r"Average Latency \(s\):\s+([\d.]+)", out)
        return result + (float(average.group(1)) if average else None,)
    return result



def bench_qps(tmp):
    zone = os.path.join(tmp, "qps.zone")
    queries = os.path.join(tmp, "qps.queries")
    write_zone(zone, 10000)
    write_queries(queries, 10000, 100000)
    results = {}
    for kind in ["anyns", "knot", "nsd"]:
        workdir = tempfile.mkdtemp(dir=tmp, prefix=kind)
        server = Server(kind, zone, free_port(), workdir).start(cpu=0)
        try:
            run_dnsperf(server.port, queries, seconds=2)  # warm-up
            results[kind] = run_dnsperf(server.port, queries, seconds=QPS_SECONDS)
        finally:
            server.stop()
    print("\n## qps (dnsperf, server on CPU 0, dnsperf on CPU 1, %d s)" % QPS_SECONDS)
    print("%-6s %12s %8s" % ("server", "q/s", "lost"))
    for kind, (qps, lost) in results.items():
        print("%-6s %12.0f %8d" % (kind, qps, lost))
    for other in ["knot", "nsd"]:
        if results[other][0]:
            print("anyns / %s: %.2fx" % (other, results["anyns"][0] / results[other][0]))
    return results


def callgrind_total(outdir):
    total = 0
    for path in glob.glob(os.path.join(outdir, "callgrind.out.*")):
        with open(path) as f:
            for line in f:
                if line.startswith("totals:") or line.startswith("summary:"):
                    total += int(line.split()[1])
                    break
    return total


def callgrind_per_process(outdir):
    """The instruction total of each process callgrind followed (one file per PID)."""
    totals = []
    for path in glob.glob(os.path.join(outdir, "callgrind.out.*")):
        with open(path) as f:
            for line in f:
                if line.startswith("totals:") or line.startswith("summary:"):
                    totals.append(int(line.split()[1]))
                    break
    return totals


def icount_per_query(kind, zone, queries, tmp, host="127.0.0.1", extra=(), max_lost=0.05, warm=False):
    """User-space instructions per query under callgrind, start-up subtracted; `extra`:
    more dnsperf arguments (EDNS options). With `warm`, the queries of a second pass over
    the file (a run of two passes less a run of one): every query has been seen before.

    Robust for servers that fork (NSD: a main process, a serving child, xfrd): every process
    callgrind followed is counted, and the idle and the loaded run must have left the same
    number of process files (a process that exited without its file made the figure
    negative once). A run that lost more than 5% of its queries, or a figure outside
    100..1,000,000, is not plausible: None, printed as n/a (`max_lost` relaxes the first rule for a server that
    cannot keep up under callgrind: BIND)."""
    runs = []
    lost_share = 0.0
    for passes in ([1, 2] if warm else [0, 1]):
        workdir = tempfile.mkdtemp(dir=tmp, prefix=f"ic-{kind}")
        outdir = os.path.join(workdir, "cg")
        os.mkdir(outdir)
        prefix = ["valgrind", "--tool=callgrind", "--trace-children=yes",
                  f"--callgrind-out-file={outdir}/callgrind.out.%p"]
        server = Server(kind, zone, free_port(), workdir, prefix=prefix, host=host).start(cpu=0, wait=120)
        try:
            for _ in range(passes):
                qps, lost = run_dnsperf(server.port, queries, once=True, extra=extra)
                lost_share = max(lost_share, lost / ICOUNT_QUERIES)
                if lost:
                    print(f"  ({kind}: {lost} queries lost under callgrind)")
        finally:
            server.stop()
        runs.append(callgrind_per_process(outdir))
    idle, loaded = runs
    per_query = (sum(loaded) - sum(idle)) / ICOUNT_QUERIES
    if len(idle) != len(loaded):
        print(f"  ({kind}: {len(idle)} processes counted idle, {len(loaded)} loaded: not comparable, not reported)")
        return None
    if lost_share > max_lost or not 100 <= per_query <= 1_000_000:
        print(f"  ({kind}: {per_query:.0f} instructions per query with {lost_share:.1%} lost: not plausible, not reported)")
        return None
    return per_query


def group_cpu_seconds(pgid):
    """User plus system CPU of every live process in process group `pgid` (NSD's children
    included)."""
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if os.getpgid(int(pid)) != pgid:
                continue
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, ProcessLookupError, IndexError, ValueError):
            continue
    return total / os.sysconf("SC_CLK_TCK")


CPU_RATES = [20000, 60000, 100000]
CPU_SECONDS = 5


def bench_cpu(tmp):
    """The whole cost of an answer, kernel included: CPU seconds (user + system, every
    process of the server) per answer at fixed rates, the share of queries dropped at each,
    and answers/s at saturation (dnsperf on CPU 1 is the limit there: ~150-160k)."""
    zone = os.path.join(tmp, "cpu.zone")
    queries = os.path.join(tmp, "cpu.queries")
    write_zone(zone, 10000)
    write_queries(queries, 10000, 100000)
    results = {}
    for kind in ["anyns", "anyns-window", "knot", "nsd"]:
        workdir = tempfile.mkdtemp(dir=tmp, prefix=f"cpu-{kind}")
        server = Server(kind, zone, free_port(), workdir).start(cpu=0)
        row = {}
        try:
            run_dnsperf(server.port, queries, seconds=2)  # warm-up
            for rate in CPU_RATES:
                before = group_cpu_seconds(server.proc.pid)
                qps, lost, latency = run_dnsperf(server.port, queries, seconds=CPU_SECONDS, rate=rate, latency=True)
                cpu = group_cpu_seconds(server.proc.pid) - before
                answers = qps * CPU_SECONDS
                row[rate] = (cpu / answers * 1e6 if answers else None, lost / (rate * CPU_SECONDS), latency)
            row["saturation"] = run_dnsperf(server.port, queries, seconds=CPU_SECONDS)[0]
        finally:
            server.stop()
        results[kind] = row
    print("\n## CPU per answer, kernel included (server on CPU 0, dnsperf on CPU 1, %d s per rate)" % CPU_SECONDS)
    header = "%-6s" % "server" + "".join("%16s" % ("us @ %dk" % (r // 1000)) for r in CPU_RATES)
    print(header + "%12s %14s" % ("drop @ %dk" % (CPU_RATES[-1] // 1000), "q/s saturated"))
    for kind, row in results.items():
        cells = "".join("%16s" % ("n/a" if row[r][0] is None else "%.2f" % row[r][0]) for r in CPU_RATES)
        print("%-13s%s%12s %14.0f" % (kind, cells, "%.1f%%" % (100 * row[CPU_RATES[-1]][1]), row["saturation"]))
    print("average latency (dnsperf, us): " + "; ".join(
        "%s %s" % (kind, "/".join("n/a" if row[r][2] is None else "%.0f" % (row[r][2] * 1e6) for r in CPU_RATES))
        for kind, row in results.items()))
    for ours_kind in ["anyns", "anyns-window"]:
        for other in ["knot", "nsd"]:
            ratios = []
            for rate in CPU_RATES:
                ours, theirs = results[ours_kind][rate][0], results[other][rate][0]
                ratios.append("%s %.2fx" % ("%dk" % (rate // 1000), ours / theirs) if ours and theirs else "n/a")
            print("%s / %s CPU per answer: %s (lower is better)" % (ours_kind, other, ", ".join(ratios)))
    return results


def bench_icount(tmp):
    zone = os.path.join(tmp, "ic.zone")
    queries = os.path.join(tmp, "ic.queries")
    write_zone(zone, 10000)
    write_queries(queries, 10000, ICOUNT_QUERIES)
    kinds = ["anyns", "knot", "nsd"]
    results = {kind: icount_per_query(kind, zone, queries, tmp) for kind in kinds}
    again = {kind: icount_per_query(kind, zone, queries, tmp, warm=True) for kind in kinds}
    print("\n## user-space instructions per query (callgrind, %d queries, start-up subtracted)" % ICOUNT_QUERIES)
    print("%-6s %12s %12s" % ("server", "first pass", "second pass"))
    shown = lambda v: "n/a" if v is None else "%.0f" % v
    for kind in kinds:
        print("%-6s %12s %12s" % (kind, shown(results[kind]), shown(again[kind])))
    for other in ["knot", "nsd"]:
        for label, figures in [("first pass", results), ("second pass", again)]:
            if figures[other] and figures["anyns"]:
                print("anyns / %s, %s: %.2fx (lower is better)" % (other, label, figures["anyns"] / figures[other]))
    return results


def bench_cookies(tmp):
    """DNS cookies on the query path: instructions per query with a client cookie in every
    query (the server answers with a fresh RFC 9018 server cookie: one SipHash-2-4 each),
    against the same queries without EDNS options; Knot with mod-cookies and BIND 9.18
    (answer-cookie, siphash24, one worker) alike."""
    zone = os.path.join(tmp, "ck.zone")
    queries = os.path.join(tmp, "ck.queries")
    write_zone(zone, 10000)
    write_queries(queries, 10000, ICOUNT_QUERIES)
    cookie = ["-E", "10:2464c4abcf10c957"]
    cases = [("anyns", ()), ("anyns", cookie), ("knot", ()), ("knot-cookies", cookie),
             ("bind", ()), ("bind", cookie)]
    results = {(kind, bool(extra)): icount_per_query(kind, zone, queries, tmp, extra=extra,
                                                     max_lost=0.1 if kind == "bind" else 0.05)
               for kind, extra in cases}
    print("\n## DNS cookies: user-space instructions per query (callgrind, %d queries)" % ICOUNT_QUERIES)
    print("%-13s %14s %14s %10s" % ("server", "no cookie", "client cookie", "added"))
    for kind, plain, with_cookie in [("anyns", ("anyns", False), ("anyns", True)),
                                     ("knot", ("knot", False), ("knot-cookies", True)),
                                     ("bind", ("bind", False), ("bind", True))]:
        a, b = results[plain], results[with_cookie]
        if a is None or b is None:
            print("%-13s %14s %14s %10s" % (kind, a or "n/a", b or "n/a", "n/a"))
            continue
        print("%-13s %14.0f %14.0f %10.0f" % (kind, a, b, b - a))
    for other in ["knot-cookies", "bind"]:
        if results[(other, True)] and results[("anyns", True)]:
            print("anyns / %s with cookies: %.2fx" % (other, results[("anyns", True)] / results[(other, True)]))
    return results


def bench_wildcard(tmp):
    """The wildcard-address path (listen on 0.0.0.0: the destination of each query is read
    from IP_PKTINFO and the answer sent from it) against the bound-address path, and Knot's
    and NSD's wildcard listeners, in the same run."""
    zone = os.path.join(tmp, "wc.zone")
    queries = os.path.join(tmp, "wc.queries")
    write_zone(zone, 10000)
    write_queries(queries, 10000, ICOUNT_QUERIES)
    cases = [("anyns", "127.0.0.1"), ("anyns", "0.0.0.0"), ("knot", "0.0.0.0"), ("nsd", "0.0.0.0")]
    results = {}
    for kind, host in cases:
        icount = icount_per_query(kind, zone, queries, tmp, host)
        workdir = tempfile.mkdtemp(dir=tmp, prefix=f"wc-{kind}")
        server = Server(kind, zone, free_port(), workdir, host=host).start(cpu=0)
        try:
            run_dnsperf(server.port, queries, seconds=2)  # warm-up
            qps, lost = run_dnsperf(server.port, queries, seconds=QPS_SECONDS)
        finally:
            server.stop()
        results[(kind, host)] = (icount, qps, lost)
    print("\n## wildcard listener (callgrind instructions per query; dnsperf q/s, server on CPU 0, %d s)"
          % QPS_SECONDS)
    print("%-6s %-10s %12s %12s %8s" % ("server", "listen", "instr/query", "q/s", "lost"))
    for (kind, host), (icount, qps, lost) in results.items():
        print("%-6s %-10s %12s %12.0f %8d" % (kind, host, "n/a" if icount is None else "%.0f" % icount, qps, lost))
    ours = results[("anyns", "0.0.0.0")]
    for other in ["knot", "nsd"]:
        theirs = results[(other, "0.0.0.0")]
        if theirs[0] and theirs[1] and ours[0]:
            print("anyns / %s on 0.0.0.0: %.2fx instructions, %.2fx q/s" % (other, ours[0] / theirs[0], ours[1] / theirs[1]))
    return results


def bench_bigzone(tmp, records=BIG_RECORDS):
    zone = os.path.join(tmp, f"big-{records}.zone")
    write_zone(zone, records)
    results = {}
    for kind in ["anyns", "knot", "nsd"]:
        workdir = tempfile.mkdtemp(dir=tmp, prefix=f"big-{kind}")
        server = Server(kind, zone, free_port(), workdir).start(wait=600)
        try:
            time.sleep(1.0)  # let background work settle before measuring memory
            results[kind] = (server.ready, server.pss_kib() / 1024,
                             server.group_kib("status", "VmHWM") / 1024,
                             server.group_kib("status", "VmSwap") / 1024)
        finally:
            server.stop()
    print("\n## zone of %d records: time to first answer, memory (PSS of all processes; peak"
          " resident, VmHWM summed over them; swapped out)" % records)
    print("%-6s %10s %10s %10s %10s" % ("server", "seconds", "MiB", "peak MiB", "swap MiB"))
    for kind, (ready, mib, peak, swap) in results.items():
        print("%-6s %10.2f %10.0f %10.0f %10.0f" % (kind, ready, mib, peak, swap))
    for other in ["knot", "nsd"]:
        print("anyns / %s: time %.2fx, memory %.2fx, peak %.2fx (lower is better)" % (
            other, results["anyns"][0] / results[other][0], results["anyns"][1] / results[other][1],
            results["anyns"][2] / results[other][2]))
    os.remove(zone)
    return results


def bench_hugezone(tmp):
    """Ten million records: the same figures as `bigzone` (minutes for Knot and NSD)."""
    return bench_bigzone(tmp, HUGE_RECORDS)


def reload_signal(kind, proc, workdir):
    """Tells a running server (`proc`, its files in `workdir`) its zone file changed: SIGHUP
    for anyns and NSD, knotc for Knot (its SIGHUP reloads the configuration too)."""
    if kind == "knot":
        subprocess.run(["knotc", "-s", os.path.join(workdir, "knot.sock"), "zone-reload", ORIGIN],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    else:
        os.kill(proc.pid, signal.SIGHUP)


def bench_reload(tmp):
    """A 1M-record zone reloaded after its file changed (serial + 1, 1% of the records with
    a new address): seconds from the reload signal until the new serial is answered, and
    the peak PSS during the reload against the steady PSS before it."""
    zone = os.path.join(tmp, "reload.zone")
    results = {}
    for kind in ["anyns", "knot", "nsd"]:
        write_zone(zone, BIG_RECORDS)
        workdir = tempfile.mkdtemp(dir=tmp, prefix=f"reload-{kind}")
        server = Server(kind, zone, free_port(), workdir).start(wait=300)
        try:
            time.sleep(1.0)
            steady = server.pss_kib()
            # The file is replaced by a rename, as an editor or a deployment does.
            write_zone(zone + ".new", BIG_RECORDS, serial=2, changed=BIG_RECORDS // 100)
            os.replace(zone + ".new", zone)
            peak = steady
            signalled = time.monotonic()
            reload_signal(server.kind, server.proc, server.dir)
            seconds = None
            while time.monotonic() - signalled < 120:
                peak = max(peak, server.pss_kib())
                if serial_of(server.port) == 2:
                    seconds = time.monotonic() - signalled
                    break
                time.sleep(0.005)
            # Memory after the old copy is gone.
            time.sleep(1.0)
            peak = max(peak, server.pss_kib())
            results[kind] = (seconds, steady / 1024, peak / 1024)
        finally:
            server.stop()
    print("\n## reload of a %d-record zone (1%% changed): signal -> new serial answered; PSS" % BIG_RECORDS)
    print("%-6s %10s %12s %10s %8s" % ("server", "seconds", "steady MiB", "peak MiB", "peak/st"))
    for kind, (seconds, steady, peak) in results.items():
        shown = "%.3f" % seconds if seconds is not None else "timeout"
        print("%-6s %10s %12.0f %10.0f %8.2f" % (kind, shown, steady, peak, peak / steady))
    for other in ["knot", "nsd"]:
        if results["anyns"][0] and results[other][0]:
            print("anyns / %s: reload time %.2fx, peak memory %.2fx (lower is better)" % (
                other, results["anyns"][0] / results[other][0], results["anyns"][2] / results[other][2]))
    return results


def sign_zone(tmp, zone, chain):
    """Signs `zone` with ldns-signzone (ED25519 KSK and ZSK: fast to sign a million RRsets),
    with NSEC or NSEC3 (RFC 9276: no extra iterations, no salt). Returns the signed file."""
    keys = tempfile.mkdtemp(dir=tmp, prefix="keys-")
    names = []
    for args in (["-k"], []):
        out = subprocess.run(["ldns-keygen", "-a", "ED25519", *args, ORIGIN], cwd=keys,
                             check=True, capture_output=True, text=True)
        names.append(os.path.join(keys, out.stdout.strip()))
    signed = os.path.join(tmp, f"big-{chain}.zone")
    extra = ["-n", "-t", "0", "-s", ""] if chain == "nsec3" else []
    started = time.time()
    subprocess.run(["ldns-signzone", *extra, "-o", ORIGIN, "-f", signed, zone, *names],
                   check=True, capture_output=True)
    print("signed %s (%s) in %.0f s" % (os.path.basename(zone), chain, time.time() - started))
    return signed


def bench_bigzone_signed(tmp):
    """The bigzone figures for zones signed with NSEC and with NSEC3: each name gets an RRSIG,
    an NSEC or NSEC3 and its RRSIG (4x the records). Two sizes: BIG_RECORDS / 4 names (a
    1M-record signed zone, the load budget for that size: 1.2 s, 290 MB) and BIG_RECORDS names (4M records)."""
    for names in [BIG_RECORDS // 4, BIG_RECORDS]:
        zone = os.path.join(tmp, "big.zone")
        write_zone(zone, names)
        for chain in ["nsec", "nsec3"]:
            signed = sign_zone(tmp, zone, chain)
            results = {}
            for kind in ["anyns", "knot", "nsd"]:
                workdir = tempfile.mkdtemp(dir=tmp, prefix=f"big-{chain}-{kind}")
                server = Server(kind, signed, free_port(), workdir).start(wait=600)
                try:
                    time.sleep(1.0)
                    results[kind] = (server.ready, server.pss_kib() / 1024)
                finally:
                    server.stop()
            print("\n## zone of %d names signed with %s (%d records): time to first answer, memory (PSS)" % (
                names, chain.upper(), 4 * names))
            print("%-6s %10s %10s" % ("server", "seconds", "MiB"))
            for kind, (ready, mib) in results.items():
                print("%-6s %10.2f %10.0f" % (kind, ready, mib))
            for other in ["knot", "nsd"]:
                print("anyns / %s: time %.2fx, memory %.2fx (lower is better)" % (
                    other, results["anyns"][0] / results[other][0],
                    results["anyns"][1] / results[other][1]))
            os.remove(signed)


def transfer_pair(kind, pdir, sdir, p_port, s_port, zone, incremental):
    """Commands for a primary serving `zone` and its secondary (anyns or Knot), each with
    its files in its directory, on 127.0.0.1. With `incremental` the primary keeps
    differences for IXFR (anyns: its journal in storage; Knot: `zonefile-load: difference`)
    and NOTIFYs the secondary; without, Knot keeps no journal."""
    if kind == "anyns":
        pconf, sconf = os.path.join(pdir, "anyns.toml"), os.path.join(sdir, "anyns.toml")
        storage = f'storage = "{pdir}/storage"\n' if incremental else ""
        notify = f'notify = ["127.0.0.1:{s_port}"]\n' if incremental else ""
        with open(pconf, "w") as f:
            f.write(f'[server]\nudp-workers = 1\n{storage}'
                    f'[[listen]]\naddress = "127.0.0.1:{p_port}"\nrole = "unicast"\n'
                    f'[[zone]]\nname = "{ORIGIN}"\nfile = "{zone}"\nallow-transfer = ["127.0.0.0/8"]\n{notify}')
        with open(sconf, "w") as f:
            f.write(f'[server]\nudp-workers = 1\nstorage = "{sdir}/storage"\n'
                    f'[[listen]]\naddress = "127.0.0.1:{s_port}"\nrole = "unicast"\n'
                    f'[[zone]]\nname = "{ORIGIN}"\nprimaries = ["127.0.0.1:{p_port}"]\n')
        return [ANYNS, "serve", "--config", pconf], [ANYNS, "serve", "--config", sconf]

    def knot_conf(d, port, zone_part):
        conf = os.path.join(d, "knot.conf")
        with open(conf, "w") as f:
            f.write(f"server:\n    rundir: {d}\n    listen: 127.0.0.1@{port}\n    background-workers: 1\n"
                    f"control:\n    listen: {d}/knot.sock\n"
                    f"database:\n    storage: {d}\n"
                    f"remote:\n  - id: primary\n    address: 127.0.0.1@{p_port}\n"
                    f"  - id: secondary\n    address: 127.0.0.1@{s_port}\n"
                    f"acl:\n  - id: any\n    address: 127.0.0.0/8\n    action: [transfer, notify]\n"
                    f"template:\n  - id: default\n    storage: {d}\n    semantic-checks: off\n"
                    f"zone:\n  - domain: {ORIGIN}\n{zone_part}")
        return conf
    keep = ("    zonefile-load: difference\n    notify: secondary\n" if incremental
            else "    journal-content: none\n")
    pcmd = ["knotd", "-c", knot_conf(pdir, p_port, f"    file: {zone}\n    acl: any\n    zonefile-sync: -1\n{keep}")]
    scmd = ["knotd", "-c", knot_conf(sdir, s_port, "    master: primary\n    acl: any\n")]
    return pcmd, scmd


def bench_axfr(tmp):
    """AXFR of a 1M-record zone: primary -> secondary, anyns->anyns and Knot->Knot. Time from
    starting the secondary until it answers with the zone's serial (the secondary stores the
    zone before serving it: anyns writes a snapshot, Knot its zone file)."""
    zone = os.path.join(tmp, "axfr.zone")
    write_zone(zone, BIG_RECORDS)
    results = {}
    for kind in ["anyns", "knot"]:
        workdir = tempfile.mkdtemp(dir=tmp, prefix=f"axfr-{kind}")
        p_port, s_port = free_port(), free_port()
        primary_dir = os.path.join(workdir, "primary")
        secondary_dir = os.path.join(workdir, "secondary")
        os.makedirs(primary_dir)
        os.makedirs(secondary_dir)
        pcmd, scmd = transfer_pair(kind, primary_dir, secondary_dir, p_port, s_port, zone, incremental=False)
        primary = subprocess.Popen(pcmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        secondary = None
        try:
            deadline = time.monotonic() + 120
            while not answers(p_port):
                if time.monotonic() > deadline or primary.poll() is not None:
                    raise RuntimeError(f"{kind} primary did not start")
                time.sleep(0.05)
            started = time.monotonic()
            secondary = subprocess.Popen(scmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
            while not answers(s_port):
                if time.monotonic() - started > 300 or secondary.poll() is not None:
                    raise RuntimeError(f"{kind} secondary did not get the zone")
                time.sleep(0.02)
            results[kind] = time.monotonic() - started
        finally:
            for proc in [secondary, primary]:
                stop_group(proc)
    print("\n## AXFR of %d records, primary -> secondary until the secondary answers" % BIG_RECORDS)
    for kind, seconds in results.items():
        print("%-6s %8.2f s" % (kind, seconds))
    print("anyns / knot: %.2fx faster" % (results["knot"] / results["anyns"]))
    return results


def bench_ixfr(tmp):
    """IXFR of 1% of a 1M-record zone: the primary's zone file changes (serial + 1, one
    record in a hundred with a new address) and it is told to reload; it NOTIFYs the
    secondary, which asks IXFR. Printed: seconds from the reload signal until the primary
    answers the new serial, until the secondary does, and the difference (the transfer:
    NOTIFY, SOA query, IXFR, applying and storing it). anyns -> anyns and Knot -> Knot
    (Knot computing the difference from its zone file: `zonefile-load: difference`)."""
    zone = os.path.join(tmp, "ixfr.zone")
    results = {}
    for kind in ["anyns", "knot"]:
        write_zone(zone, BIG_RECORDS)
        workdir = tempfile.mkdtemp(dir=tmp, prefix=f"ixfr-{kind}")
        p_port, s_port = free_port(), free_port()
        pdir, sdir = os.path.join(workdir, "primary"), os.path.join(workdir, "secondary")
        os.makedirs(pdir)
        os.makedirs(sdir)
        pcmd, scmd = transfer_pair(kind, pdir, sdir, p_port, s_port, zone, incremental=True)
        procs = []
        try:
            procs.append(subprocess.Popen(pcmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                          start_new_session=True))
            if wait_serial(p_port, 1, 120) is None:
                raise RuntimeError(f"{kind} primary did not start")
            procs.append(subprocess.Popen(scmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                          start_new_session=True))
            if wait_serial(s_port, 1, 120) is None:
                raise RuntimeError(f"{kind} secondary did not get the zone")
            time.sleep(2.0)  # the secondary stores the zone; both settle
            write_zone(zone + ".new", BIG_RECORDS, serial=2, changed=BIG_RECORDS // 100)
            os.replace(zone + ".new", zone)
            signalled = time.monotonic()
            reload_signal(kind, procs[0], pdir)
            primary = wait_serial(p_port, 2, 60)
            secondary = None
            if primary is not None:
                left = wait_serial(s_port, 2, 60)
                secondary = None if left is None else time.monotonic() - signalled
            results[kind] = (primary, secondary)
        finally:
            for proc in reversed(procs):
                stop_group(proc)
    print("\n## IXFR of 1%% of a %d-record zone: reload signal -> primary, -> secondary (seconds)" % BIG_RECORDS)
    print("%-6s %10s %10s %12s" % ("server", "primary", "secondary", "transfer"))
    for kind, (primary, secondary) in results.items():
        shown = lambda v: "timeout" if v is None else "%.3f" % v
        transfer = None if primary is None or secondary is None else secondary - primary
        print("%-6s %10s %10s %12s" % (kind, shown(primary), shown(secondary), shown(transfer)))
    return results


RESOLVERS = ["anyns-resolver", "anyns-resolver-window", "unbound", "pdns-recursor"]
RESOLVER_RATE = 40000


def bench_resolver(tmp):
    """Resolvers answering from a warmed cache: names of ORIGIN stubbed (forwarded) to a
    local Knot, each resolver on CPU 0 with one thread, dnsperf on CPU 1, in turn."""
    zone = os.path.join(tmp, "rs.zone")
    warm = os.path.join(tmp, "rs.warm")
    queries = os.path.join(tmp, "rs.queries")
    write_zone(zone, 10000)
    with open(warm, "w") as f:  # every name and kind of the query mix, once
        for i in range(10000):
            f.write(f"h{i}.{ORIGIN} A\nnx{i}.{ORIGIN} A\nh{i}.{ORIGIN} MX\n")
    write_queries(queries, 10000, ICOUNT_QUERIES)
    knot = Server("knot", zone, free_port(), tempfile.mkdtemp(dir=tmp, prefix="rs-knot")).start(cpu=1)
    wanted = os.environ.get("BENCH_RESOLVERS", ",".join(RESOLVERS)).split(",")
    kinds = [k for k in RESOLVERS if k in wanted
             and (k.startswith("anyns") or shutil.which(k.replace("-", "_") if k == "pdns-recursor" else k))]
    results = {}
    try:
        for kind in kinds:
            workdir = tempfile.mkdtemp(dir=tmp, prefix=f"rs-{kind}")
            server = Server(kind, zone, free_port(), workdir, upstream=knot.port).start(cpu=0)
            try:
                cold = cold_latencies(server.port, [f"h{i}.{ORIGIN}" for i in range(COLD_NAMES)])
                pss_before = server.pss_kib()
                warm_up(server.port, warm, kind)
                pss_per_entry = (server.pss_kib() - pss_before) * 1024 / (3 * 10000 - COLD_NAMES)
                cpu_before = server.cpu_seconds()
                qps_fixed, lost_fixed = run_dnsperf(server.port, queries, seconds=QPS_SECONDS, rate=RESOLVER_RATE)
                cpu = server.cpu_seconds() - cpu_before
                us_per_answer = cpu / max(qps_fixed * QPS_SECONDS, 1) * 1e6
                qps, lost = run_dnsperf(server.port, queries, seconds=QPS_SECONDS)
            finally:
                server.stop()
            # The window changes wake-ups, not the instructions of an answer.
            icount = None if kind.endswith("-window") else resolver_icount(kind, zone, warm, queries, tmp, knot.port)
            results[kind] = (us_per_answer, qps, lost + lost_fixed, icount, cold, pss_per_entry)
    finally:
        knot.stop()
    print("\n## resolvers, cached answers (stub zone to a local Knot; one thread each on CPU 0)")
    print("%-15s %14s %10s %6s %17s %11s %11s %12s" % ("resolver", "CPU us/answer", "q/s", "lost",
                                                       "instr 1st/2nd pass", "cold p50 us", "cold p99 us",
                                                       "bytes/entry"))
    for kind, (us, qps, lost, icount, cold, per_entry) in results.items():
        print("%-21s %14.2f %10.0f %6d %17s %11.0f %11.0f %12.0f" % (
            kind, us, qps, lost, "n/a" if icount is None else "%.0f / %.0f" % icount,
            cold[len(cold) // 2] * 1e6, cold[len(cold) * 99 // 100] * 1e6, per_entry))
    for ours_kind in ["anyns-resolver", "anyns-resolver-window"]:
        ours = results.get(ours_kind)
        for other in ["unbound", "pdns-recursor"]:
            theirs = results.get(other)
            if ours and theirs and theirs[0] and theirs[1]:
                print("%s / %s: %.2fx CPU per answer at %d q/s, %.2fx q/s (lower is better but q/s)"
                      % (ours_kind, other, ours[0] / theirs[0], RESOLVER_RATE, ours[1] / theirs[1]))
        if ours and ours[3] and results.get("unbound") and results["unbound"][3]:
            for label, at in [("first pass", 0), ("second pass", 1)]:
                print("%s / unbound: %.2fx instructions per cached answer, %s"
                      % (ours_kind, ours[3][at] / results["unbound"][3][at], label))
    return results


COLD_NAMES = 2000


def cold_latencies(port, names):
    """Seconds to resolve each name once, one query at a time (cache cold), sorted."""
    times = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2)
        for i, name in enumerate(names):
            qname = b"".join(bytes([len(l)]) + l.encode() for l in name.rstrip(".").split(".")) + b"\0"
            query = struct.pack("!HHHHHH", i & 0xFFFF, 0x0100, 1, 0, 0, 0) + qname + struct.pack("!HH", 1, 1)
            start = time.perf_counter()
            s.sendto(query, ("127.0.0.1", port))
            while True:
                try:
                    data = s.recv(4096)
                except OSError:
                    break
                if data[:2] == query[:2]:
                    break
            times.append(time.perf_counter() - start)
    return sorted(times)


def warm_up(port, warm, kind, timeout=5):
    """Asks every name of the mix once, 50 at a time: below anyns's per-client limit of
    pending resolutions (100; a query over it is answered SERVFAIL and nothing is cached),
    so that what follows is answered from the cache. Says so if any was lost or failed."""
    cmd = ["taskset", "-c", "1", "dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", warm,
           "-c", "4", "-q", "50", "-t", str(timeout), "-n", "1"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300).stdout
    lost = re.search(r"Queries lost:\s+(\d+)", out)
    servfail = re.search(r"SERVFAIL (\d+)", out)
    failed = (int(lost.group(1)) if lost else 0) + (int(servfail.group(1)) if servfail else 0)
    if failed:
        print(f"  ({kind}: {failed} warm-up queries lost or SERVFAIL: later answers include resolutions)")


def resolver_icount(kind, zone, warm, queries, tmp, upstream):
    """Instructions per cached answer under callgrind, after a warm-up that resolved every
    name: (first, second) pass over the query file, each a run with one more pass less the
    run before. The first pass answers each query's octets for the first time (anyns copies
    the answer into its answer cache then), the second only octets seen before."""
    totals = []
    for passes in [0, 1, 2]:
        workdir = tempfile.mkdtemp(dir=tmp, prefix=f"rsic-{kind}")
        outdir = os.path.join(workdir, "cg")
        os.mkdir(outdir)
        prefix = ["valgrind", "--tool=callgrind", "--trace-children=yes",
                  f"--callgrind-out-file={outdir}/callgrind.out.%p"]
        server = Server(kind, zone, free_port(), workdir, prefix=prefix, upstream=upstream).start(cpu=0, wait=120)
        try:
            warm_up(server.port, warm, kind, timeout=10)
            for _ in range(passes):
                run_dnsperf(server.port, queries, once=True, timeout=10)
        finally:
            server.stop()
        totals.append(callgrind_total(outdir))
    return ((totals[1] - totals[0]) / ICOUNT_QUERIES, (totals[2] - totals[1]) / ICOUNT_QUERIES)


def main():
    parts = sys.argv[1:] or ["qps", "icount", "bigzone", "axfr"]
    for tool in ["dnsperf", "knotd", "nsd", "valgrind", "taskset"]:
        if not shutil.which(tool):
            sys.exit(f"missing {tool}: run bench/run.sh as root to install it")
    tmp = tempfile.mkdtemp(prefix="anyns-bench-")
    try:
        for part in parts:
            {"qps": bench_qps, "icount": bench_icount, "bigzone": bench_bigzone,
             "hugezone": bench_hugezone,
             "bigzone-signed": bench_bigzone_signed, "axfr": bench_axfr,
             "wildcard": bench_wildcard, "resolver": bench_resolver,
             "cookies": bench_cookies, "cpu": bench_cpu,
             "reload": bench_reload, "ixfr": bench_ixfr}[part](tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
