#!/usr/bin/env bash
# Does this kernel run XDP and AF_XDP on veth? Two namespaces joined by a veth pair
# (192.0.2.1 and 192.0.2.2, nothing else), then:
#  1. a minimal XDP program (XDP_PASS, built with llc from LLVM IR) attached in generic and
#     in native mode;
#  2. an AF_XDP socket on queue 0 (bench/xdp/xsk-probe.c, libxdp's default program), in
#     native and generic mode, receiving UDP datagrams sent from the other namespace;
#  3. Knot's own XDP mode (`xdp: listen`) answering a query.
# Needs root, llc, gcc, libxdp-dev, libbpf-dev, knot (installed when missing).
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)"; exit 1; }
for pkg in llvm gcc libxdp-dev libbpf-dev knot knot-dnsutils; do
    dpkg -s "$pkg" >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" >/dev/null
done
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
a=xdpprobe-a b=xdpprobe-b
cleanup() { pkill -f "knotd -c $work" 2>/dev/null || true; ip netns del $a 2>/dev/null || true; ip netns del $b 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
echo "kernel $(uname -r)"
ip netns add $a; ip netns add $b
ip link add xp0 netns $a type veth peer name xp1 netns $b
ip -n $a addr add 192.0.2.1/24 dev xp0; ip -n $b addr add 192.0.2.2/24 dev xp1
ip -n $a link set xp0 up; ip -n $b link set xp1 up

printf 'define i32 @xdp_pass(i8* %%ctx) section "xdp" {\n  ret i32 2\n}\n@_license = global [4 x i8] c"GPL\\00", section "license"\n' > "$work/pass.ll"
llc -march=bpf -filetype=obj "$work/pass.ll" -o "$work/pass.o"
for mode in xdpgeneric xdpdrv; do
    if ip -n $b link set dev xp1 $mode obj "$work/pass.o" sec xdp 2>"$work/err"; then
        echo "XDP program, $mode mode: loaded ($(ip -n $b link show xp1 | grep -o 'prog/xdp id [0-9]*'))"
        ip -n $b link set dev xp1 $mode off
    else
        echo "XDP program, $mode mode: refused: $(head -1 "$work/err")"
    fi
done

gcc -O2 -o "$work/xsk-probe" "$here/xsk-probe.c" -lxdp -lbpf
# The AF_XDP socket takes every frame of queue 0, ARP included: a static neighbour entry
# lets the datagrams leave.
mac=$(ip -n $b -o link show xp1 | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
ip -n $a neigh replace 192.0.2.2 lladdr "$mac" dev xp0
for mode in drv skb; do
    ip netns exec $b "$work/xsk-probe" xp1 $mode > "$work/probe-$mode" 2>/dev/null &
    sleep 1
    ip netns exec $a python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(5):
    s.sendto(b'x' * 40, ('192.0.2.2', 53))"
    wait || true
    echo "AF_XDP socket, $mode mode: $(grep -E 'DNS frames|^socket' "$work/probe-$mode" | tr '\n' ' ')"
    ip -n $b link set dev xp1 xdpgeneric off 2>/dev/null || true
    ip -n $b link set dev xp1 xdpdrv off 2>/dev/null || true
    sleep 1 # the closed socket leaves the queue after a grace period
done

mkdir -p "$work/knot"
printf '$ORIGIN example.\n$TTL 300\n@ SOA ns hm 1 2 3 4 60\n@ NS ns\nns A 192.0.2.2\nwww A 192.0.2.80\n' > "$work/knot/example.zone"
cat > "$work/knot/knot.conf" <<CONF
server:
    rundir: $work/knot
    listen: 192.0.2.2@53
xdp:
    listen: xp1@53
control:
    listen: $work/knot/knot.sock
database:
    storage: $work/knot
zone:
  - domain: example.
    file: $work/knot/example.zone
CONF
ip netns exec $b timeout 10 knotd -c "$work/knot/knot.conf" > "$work/knot.log" 2>&1 &
sleep 2
answer=$(ip netns exec $a kdig @192.0.2.2 www.example. A +short +timeout=1 +retry=0 2>&1 | head -1 || true)
echo "Knot $(knotd -V | grep -o '[0-9.]*$') XDP mode: $(grep -m1 -E 'cannot use helper|BPF program load failed' "$work/knot.log" || echo loaded); query answered: ${answer:-no}"
