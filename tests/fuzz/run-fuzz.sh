#!/usr/bin/env bash
# Builds the libFuzzer target in its own clang tree and runs it for a bounded
# time on a generated seed corpus. Used by the ctest
# "fuzz: frame+batch decoder (bounded)"; runnable by hand too.
#   usage: run-fuzz.sh BUILD_DIR [TARGET]   (env: MUNINN_FUZZ_SECONDS, default 60)
# TARGET is frame_batch (default) or flex_verify.
# Fails (never skips) when clang or the libFuzzer runtime is missing.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${1:?usage: run-fuzz.sh BUILD_DIR [TARGET]}
target=${2:-frame_batch}
seconds=${MUNINN_FUZZ_SECONDS:-60}
cc=${MUNINN_FUZZ_CC:-clang}
cxx=${MUNINN_FUZZ_CXX:-clang++}

fail() {
  echo "FAIL: $*" >&2
  echo "      scripts/install-deps installs clang and libclang-rt-14-dev (libFuzzer + sanitizers)." >&2
  exit 1
}

command -v "$cxx" >/dev/null 2>&1 || fail "$cxx not found: the fuzz test needs clang"
command -v "$cc" >/dev/null 2>&1 || fail "$cc not found: the fuzz test needs clang"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n' \
  > "$tmp/probe.cc"
if ! "$cxx" -fsanitize=fuzzer,address,undefined "$tmp/probe.cc" -o "$tmp/probe" 2> "$tmp/probe.err"; then
  cat "$tmp/probe.err" >&2
  fail "$cxx cannot link a libFuzzer binary (libFuzzer runtime missing?)"
fi

# tests/fuzz is configured as its own project (codec sources only), so the
# clang tree never builds storage or the broker.
CC="$cc" CXX="$cxx" cmake -S "$here" -B "$build" -DCMAKE_CXX_COMPILER="$cxx" -DMUNINN_FUZZ=ON \
  > "$tmp/configure.log" 2>&1 || { cat "$tmp/configure.log" >&2; fail "configure failed"; }
cmake --build "$build" -j2 --target "muninn_fuzz_$target"
bin="$build/bin/muninn_fuzz_$target"

corpus="$tmp/corpus"
mkdir -p "$corpus" "$build/artifacts"
MUNINN_FUZZ_WRITE_SEEDS="$corpus" "$bin"
[ "$(ls "$corpus" | wc -l)" -gt 0 ] || fail "seed generation wrote no files"

echo "fuzzing for ${seconds}s on $(ls "$corpus" | wc -l) seeds; crashes go to $build/artifacts/"
"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
  -print_final_stats=1 -artifact_prefix="$build/artifacts/" "$corpus"
