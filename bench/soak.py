#!/usr/bin/env python3
"""The soak (bench/soak.sh MINUTES): one anyns site under 80% of its measured capacity for
MINUTES, with RRL on, its primary zone reloaded (SIGHUP, a changed file) every 10 s and its
secondary zone brought up to date by IXFR from a second anyns every 5 s (NOTIFY). Every
10 s: answers/s, queries lost, PSS. At the end: memory growth after the first minute (must
stay within 5%), losses, and the serials reached. Loopback only; everything is stopped at
the end."""

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (the servers, zones, dnsperf and PSS helpers)

ZONE_NAMES = 10000


def write_secondary_zone(path, serial):
    with open(path, "w") as f:
        f.write("$ORIGIN sec.example.\n$TTL 300\n")
        f.write(f"@ SOA ns1 hostmaster {serial} 3600 600 1209600 60\n@ NS ns1\nns1 A 192.0.2.1\n")
        for i in range(200):
            f.write(f"h{i} A 198.51.100.{i % 250}\n")
        f.write(f"changing TXT \"version {serial}\"\n")


def start(cmd, log):
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(log, "w"), start_new_session=True)


def main():
    minutes = float(sys.argv[1]) if len(sys.argv) > 1 else 30
    tmp = tempfile.mkdtemp(prefix="anyns-soak-")
    zone = os.path.join(tmp, "site.zone")
    queries = os.path.join(tmp, "soak.queries")
    bench.write_zone(zone, ZONE_NAMES)
    bench.write_queries(queries, ZONE_NAMES, 100000)
    primary_zone = os.path.join(tmp, "sec.zone")
    write_secondary_zone(primary_zone, 1)
    site_port, primary_port = bench.free_port(), bench.free_port()
    os.mkdir(os.path.join(tmp, "storage"))
    with open(os.path.join(tmp, "primary.toml"), "w") as f:
        f.write(f"""[server]
udp-workers = 1
[[listen]]
address = "127.0.0.2:{primary_port}"
role = "unicast"
[[zone]]
name = "sec.example."
file = "{primary_zone}"
allow-transfer = ["127.0.0.0/8"]
notify = ["127.0.0.1:{site_port}"]
""")
    with open(os.path.join(tmp, "site.toml"), "w") as f:
        f.write(f"""[server]
identity = "soak"
udp-workers = 1
storage = "{tmp}/storage"
rate-limit = 200000
# Loopback is exempt by default: the limiter must see the load (it never drops below its rate).
rate-limit-exempt = []
[[listen]]
address = "127.0.0.1:{site_port}"
role = "unicast"
[[zone]]
name = "{bench.ORIGIN}"
file = "{zone}"
[[zone]]
name = "sec.example."
primaries = ["127.0.0.2:{primary_port}"]
""")
    primary = start([bench.ANYNS, "serve", "-c", os.path.join(tmp, "primary.toml")], os.path.join(tmp, "primary.log"))
    site = start(["taskset", "-c", "0", bench.ANYNS, "serve", "-c", os.path.join(tmp, "site.toml")],
                 os.path.join(tmp, "site.log"))
    try:
        deadline = time.monotonic() + 20
        while not bench.answers(site_port) and time.monotonic() < deadline:
            time.sleep(0.05)
        capacity, _ = bench.run_dnsperf(site_port, queries, seconds=5)
        rate = int(capacity * 0.8)
        print(f"capacity {capacity:.0f} q/s; soaking at {rate} q/s for {minutes:g} min "
              f"(RRL on, a reload every 10 s, an IXFR every 5 s)")
        print("%8s %10s %8s %10s %10s %10s" % ("t (s)", "q/s", "lost", "PSS MiB", "serial", "sec serial"))
        started = time.monotonic()
        samples = []
        serial, sec_serial, step = 1, 1, 0
        while time.monotonic() - started < minutes * 60:
            # Two 5-second slices per sample: an IXFR each, a reload each second one.
            answered, lost = 0.0, 0
            for half in range(2):
                sec_serial += 1
                write_secondary_zone(primary_zone, sec_serial)
                os.kill(primary.pid, signal.SIGHUP)
                if half == 1:
                    serial += 1
                    with open(zone) as f:
                        text = f.read()
                    text = text.replace(f"hostmaster {serial - 1} ", f"hostmaster {serial} ", 1)
                    with open(zone, "w") as f:
                        f.write(text)
                    os.kill(site.pid, signal.SIGHUP)
                qps, lost_now = bench.run_dnsperf(site_port, queries, seconds=5, rate=rate)
                answered += qps / 2
                lost += max(lost_now, 0)
            step += 1
            pss = bench_pss(site.pid)
            served = soa_serial(site_port, "bench.example.")
            served_sec = soa_serial(site_port, "sec.example.")
            samples.append((time.monotonic() - started, answered, lost, pss))
            print("%8.0f %10.0f %8d %10.1f %10s %10s" % (samples[-1][0], answered, lost, pss / 1024,
                                                         served, served_sec), flush=True)
        growth, early, late, low, high = memory_growth(samples)
        total_lost = sum(s[2] for s in samples)
        print(f"memory after the first minute: {low / 1024:.1f}..{high / 1024:.1f} MiB; median of the "
              f"first 3 min {early / 1024:.2f} MiB, of the last 3 min {late / 1024:.2f} MiB: growth "
              f"{growth:.1%} ({'flat' if growth <= 0.05 else 'GROWING'}); queries lost: {total_lost}; "
              f"reloads {serial - 1}, IXFRs {sec_serial - 1}")
        return 0 if growth <= 0.05 else 1
    finally:
        for p in (site, primary):
            try:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(timeout=30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(p.pid, signal.SIGKILL)


def memory_growth(samples):
    """Growth of PSS after the first minute: the median of the last 3 minutes' samples over
    the median of the first 3. Each reload holds the old and the new zone for a moment, so
    single samples swing by a MiB on a small zone; a leak moves the medians, a swing does
    not. Returns (growth, early median, late median, min, max)."""
    warm = [s[3] for s in samples if s[0] >= 60] or [s[3] for s in samples]
    window = max(1, min(18, len(warm) // 3))
    early = statistics.median(warm[:window])
    late = statistics.median(warm[-window:])
    growth = (late - early) / early if early else 0
    return growth, early, late, min(warm), max(warm)


def bench_pss(pid):
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def soa_serial(port, zone):
    import socket
    import struct
    qname = b"".join(bytes([len(label)]) + label.encode() for label in zone.rstrip(".").split(".")) + b"\0"
    query = struct.pack("!HHHHHH", 0x4343, 0, 1, 0, 0, 0) + qname + struct.pack("!HH", 6, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.5)
        try:
            s.sendto(query, ("127.0.0.1", port))
            data = s.recv(4096)
        except OSError:
            return None
    # The serial: the first 4 octets after the two names of the answer's SOA RDATA; read
    # from the end (REFRESH, RETRY, EXPIRE, MINIMUM follow it: 16 octets).
    if len(data) < 40 or data[3] & 0xF != 0:
        return None
    end = len(data)
    # No OPT in the query, so the SOA RDATA ends the message.
    return struct.unpack("!I", data[end - 20:end - 16])[0]


if __name__ == "__main__":
    sys.exit(main())
