#!/bin/sh
# The fuzz campaign: every cargo-fuzz target in fuzz/ for SECONDS each (default 60), one after
# the other, with overflow checks and debug assertions on (an arithmetic overflow on input from
# the wire is a crash, as it would be in a debug build). Then each corpus is minimised
# (`cargo fuzz cmin`) and kept in fuzz/corpus/<target>, and a table of executions, speed,
# corpus size and crashes goes to target/fuzz/table.md (and standard output).
#
#   scripts/fuzz.sh [SECONDS-PER-TARGET] [TARGET...]
#   FUZZ_RUNS=100000000 scripts/fuzz.sh 900     # each target stops at 10^8 executions or 900 s
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`) and a C++ compiler for libFuzzer (g++). The
# Rust here is stable: RUSTC_BOOTSTRAP=1 lets it take the -Z flags cargo-fuzz passes; no
# sanitizer runtime is needed (-s none: the decoders are safe Rust, so what is looked for is
# panics, overflows, hangs and runaway memory, which libFuzzer reports by itself).
# Crashes land in fuzz/artifacts/<target>/; reproduce one with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run -O -a -s none <target> fuzz/artifacts/<target>/crash-…
set -eu
cd "$(dirname "$0")/.."
seconds=${1:-60}
runs_cap=${FUZZ_RUNS:-0}    # 0: no cap on executions, the time alone ends a target
[ $# -gt 0 ] && shift
command -v cargo-fuzz >/dev/null || { echo "fuzz.sh: needs cargo-fuzz: cargo install cargo-fuzz" >&2; exit 2; }
command -v g++ >/dev/null || { echo "fuzz.sh: needs a C++ compiler for libFuzzer: apt-get install g++" >&2; exit 2; }
export RUSTC_BOOTSTRAP=1
flags="-O -a -s none"
cd fuzz
targets=${*:-$(cargo fuzz list)}
# shellcheck disable=SC2086
cargo fuzz build $flags
mkdir -p ../target/fuzz
table=../target/fuzz/table.md
printf '| target | seconds | executions | exec/s | corpus (files) | crashes |\n|---|---:|---:|---:|---:|---:|\n' >"$table"
total=0
for t in $targets; do
    mkdir -p "corpus/$t" "artifacts/$t"
    log=../target/fuzz/$t.log
    before=$(ls "artifacts/$t" | wc -l)
    cap=""
    [ "$runs_cap" -gt 0 ] && cap="-runs=$runs_cap"
    # -rss_limit_mb: a decoder that holds its input or grows without bound is a finding too.
    # shellcheck disable=SC2086
    cargo fuzz run $flags "$t" "corpus/$t" -- -max_total_time="$seconds" $cap -rss_limit_mb=512 \
        -timeout=10 -print_final_stats=1 >"$log" 2>&1 || true
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    runs=${runs:-0}
    took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
    took=${took:-$seconds}
    [ "$took" -gt 0 ] || took=1
    # shellcheck disable=SC2086
    cargo fuzz cmin $flags "$t" "corpus/$t" >>"$log" 2>&1 || true
    files=$(ls "corpus/$t" | wc -l)
    crashes=$(($(ls "artifacts/$t" | wc -l) - before))
    total=$((total + runs))
    printf '| %s | %s | %s | %s | %s | %s |\n' "$t" "$took" "$runs" "$((runs / took))" "$files" "$crashes" >>"$table"
done
printf '| **all** | | %s | | | |\n' "$total" >>"$table"
cat "$table"
