#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60) with libFuzzer (cargo-fuzz, nightly;
# installed when missing) from its seed corpus, JOBS targets at a time (default 1; one core
# each), then prints one line per target: executions, executions per second, corpus size,
# crashes. A crash leaves its input in fuzz/artifacts/TARGET/ and makes the script exit 1.
#   fuzz/run.sh 600 2
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-60}
jobs=${2:-1}
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
rustup toolchain list | grep -q nightly || rustup toolchain install nightly --profile minimal
targets=$(cargo fuzz list)
cargo +nightly fuzz build --release $targets >/dev/null 2>&1 || cargo +nightly fuzz build --release
mkdir -p logs

# One target's run; its exit status goes to logs/TARGET.status.
run_target() {
    local target=$1 status=0
    # New inputs go to work/TARGET (not committed); corpus/TARGET holds the seeds.
    mkdir -p "corpus/$target" "work/$target"
    cargo +nightly fuzz run --release "$target" "work/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -print_final_stats=1 >"logs/$target.log" 2>&1 || status=$?
    echo "$status" >"logs/$target.status"
}

running=0
for target in $targets; do
    run_target "$target" &
    running=$((running + 1))
    if [[ $running -ge $jobs ]]; then
        wait -n || true
        running=$((running - 1))
    fi
done
wait

failed=0
printf '%-12s %12s %10s %8s %8s\n' target executions exec/s corpus crashes
for target in $targets; do
    log="logs/$target.log"
    status=$(cat "logs/$target.status" 2>/dev/null || echo 1)
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
    corpus=$(find "corpus/$target" "work/$target" -type f | wc -l)
    crashes=$(find "artifacts/$target" -type f 2>/dev/null | wc -l)
    printf '%-12s %12s %10s %8s %8s\n' "$target" "${execs:-0}" "${rate:-0}" "$corpus" "$crashes"
    if [[ $status -ne 0 || $crashes -ne 0 ]]; then
        failed=1
        echo "  $target: exit $status; see fuzz/$log and fuzz/artifacts/$target/" >&2
    fi
done
exit $failed
