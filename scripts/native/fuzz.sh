#!/usr/bin/env bash
# Fuzzes the native runtime's loader and interpreter with libFuzzer (clang) under AddressSanitizer and
# UndefinedBehaviorSanitizer for SECONDS (default 180), starting from a corpus of valid artifacts
# (scripts/native/fuzz_corpus.ts). Inputs that crash are copied to runtime/fuzz/regressions/, which
# tests/native_loader_test.ts runs through the sanitized runner on every test run.
#   scripts/native/fuzz.sh [SECONDS]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${1:-180}
work="$root/out/native/fuzz"
rm -rf "$work/crashes" # what earlier runs found is already in runtime/fuzz/regressions/
mkdir -p "$work/corpus" "$work/crashes" "$root/runtime/fuzz/regressions"
# -march=native: the SIMD kernels the host build runs (runtime/src/ops/simd.h) are fuzzed too.
clang -g -O1 -march=native -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -std=c99 \
  -I"$root/runtime/src" -o "$work/fuzz_load" "$root/runtime/fuzz/fuzz_load.c" \
  "$root"/runtime/src/fb.c "$root"/runtime/src/sha256.c "$root"/runtime/src/qm.c "$root"/runtime/src/ops/*.c
"$root/deno" run --allow-read --allow-write "$root/scripts/native/fuzz_corpus.ts" "$work/corpus"
status=0
"$work/fuzz_load" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$work/crashes/" "$work/corpus" 2>"$work/fuzz.log" || status=$?
tail -n 25 "$work/fuzz.log" | grep -E "stat::|Done|ERROR|SUMMARY" || true
found=0
for f in "$work"/crashes/*; do
  [ -e "$f" ] || continue
  cp "$f" "$root/runtime/fuzz/regressions/$(basename "$f").qm"
  found=$((found + 1))
done
echo "fuzz: ${seconds}s, exit ${status}, ${found} crashing input(s) kept in runtime/fuzz/regressions/"
exit "$status"
