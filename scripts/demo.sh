#!/usr/bin/env bash
# The main job: builds anyns and serves the example zone on loopback, showing what it
# answers. (The multi-site anycast lab will replace this; see the issues.)
#   sudo ./scripts/demo.sh          # Ctrl-C stops the server
#   ./scripts/demo.sh --no-wait     # show the answers, then stop
set -euo pipefail
cd "$(dirname "$0")/.."
wait_for_ctrl_c=1
[[ "${1:-}" == "--no-wait" || ! -t 0 ]] && wait_for_ctrl_c=0
if [[ $(id -u) -eq 0 ]]; then ./scripts/install-deps.sh; fi
command -v dig >/dev/null || { echo "dig is missing: run as root or apt-get install dnsutils" >&2; exit 1; }

echo "==> building (release)"
cargo build --release --locked -p anyns
bin=target/release/anyns

echo "==> checking the example zone"
"$bin" check-zone --origin example. examples/example.zone

log=$(mktemp)
"$bin" serve --config examples/anyns.toml 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 50); do
    dig @127.0.0.1 -p 5353 example. SOA +short +time=1 +tries=1 2>/dev/null | grep -q hostmaster && break
    sleep 0.1
done

q() { dig @127.0.0.1 -p 5353 +norec +time=2 +tries=1 "$@"; }
row() { # query  ->  status flags answer
    local out status flags answer
    out=$(q "$@" 2>&1)
    status=$(grep -o 'status: [A-Z]*' <<<"$out" | cut -d' ' -f2)
    flags=$(grep -o 'flags: [a-z ]*;' <<<"$out" | head -1 | sed 's/flags: //; s/;//')
    answer=$(awk '/ANSWER SECTION/{a=1;next} /^$/{a=0} a{print $4" "$5" "$6}' <<<"$out" | head -2 | paste -sd' | ')
    [[ -z $answer ]] && answer=$(awk '/AUTHORITY SECTION/{a=1;next} /^$/{a=0} a{print "(auth) "$4" "$5}' <<<"$out" | head -1)
    printf '%-38s %-9s %-12s %s\n' "$*" "$status" "$flags" "$answer"
}
echo
echo "==> anyns answers on 127.0.0.1:5353 and [::1]:5353 (identity: demo-site-1)"
printf '%-38s %-9s %-12s %s\n' QUERY STATUS FLAGS ANSWER
row www.example. A
row web.example. AAAA
row alice.users.example. A
row nothing.example. A
row www.example. MX
row host.delegated.example. A
row www.example.org. A
row -6 @::1 www.example. AAAA
row id.server. CH TXT
echo
echo "==> NSID (which site answered):"
q www.example. A +nsid | grep NSID
if ((wait_for_ctrl_c)); then
    echo
    echo "serving; try: dig @127.0.0.1 -p 5353 www.example. +nsid    (Ctrl-C stops)"
    wait $pid
fi
