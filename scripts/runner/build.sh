#!/usr/bin/env bash
# Builds the on-device ONNX Runtime runner (devices/runner/ort_runner.c) for one architecture into
# out/runner/<arch>/{int8-runner,libonnxruntime.so.1} and prints that directory:
#   scripts/runner/build.sh x64     gcc, for x86-64 Linux (runs natively here)
#   scripts/runner/build.sh arm64   aarch64-linux-gnu-gcc, for aarch64 Linux with glibc >= 2.34 (boards)
#                                   (here: tests/rigs/arm64_board.sh -- out/runner/arm64/int8-runner ...)
# The ORT C API header comes from Debian trixie's libonnxruntime-dev (API 21), fetched into
# .tools/trixie-root by scripts/trixie/fetch.sh (never committed); the library is the one npm
# onnxruntime-node@1.30.0 ships (node_modules, installed by ./setup), copied beside the runner, which
# finds it through rpath $ORIGIN. Both are built in a temporary directory and renamed into place, so
# a runner another process is executing stays intact.
# Extra compiler flags and another output directory: OPT="-O1 -g -fsanitize=address,undefined" OUT=... build.sh x64
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
arch=${1:-x64}
case "$arch" in
  x64) cc=${CC:-gcc} ;;
  arm64) cc=${CC:-aarch64-linux-gnu-gcc} ;;
  *) echo "build.sh: unknown architecture $arch (x64, arm64)" >&2; exit 2 ;;
esac
command -v "$cc" >/dev/null || { echo "build.sh: $cc is missing (run ./setup)" >&2; exit 2; }

ortlib="$root/node_modules/.deno/onnxruntime-node@1.30.0/node_modules/onnxruntime-node/bin/napi-v6/linux/$arch/libonnxruntime.so.1"
[ -f "$ortlib" ] || { echo "build.sh: $ortlib is missing (run ./setup: deno install)" >&2; exit 2; }
trixie=$("$root/scripts/trixie/fetch.sh" "$root/.tools/trixie-root" libonnxruntime-dev)
include="$trixie/usr/include/onnxruntime"
[ -f "$include/onnxruntime_c_api.h" ] || { echo "build.sh: no onnxruntime_c_api.h under $include" >&2; exit 2; }

out=${OUT:-$root/out/runner/$arch}
mkdir -p "$(dirname "$out")"
tmp=$(mktemp -d "$(dirname "$out")/.build-$(basename "$out").XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cp "$ortlib" "$tmp/libonnxruntime.so.1"
# The npm package has no libonnxruntime.so symlink: link the .so.1 by path (its SONAME is
# libonnxruntime.so.1, so that is what the runner asks the loader for).
# shellcheck disable=SC2086 # OPT holds several flags
"$cc" -std=c11 -O2 -Wall -Wextra -Werror ${OPT:-} -I"$include" -o "$tmp/int8-runner" \
  "$root/devices/runner/ort_runner.c" "$tmp/libonnxruntime.so.1" -Wl,-rpath,'$ORIGIN' -Wl,--as-needed >&2
chmod 755 "$tmp/int8-runner"
chmod 644 "$tmp/libonnxruntime.so.1"
# Rename each file into place (library first): a runner another process is executing keeps its files.
mkdir -p "$out"
mv -f "$tmp/libonnxruntime.so.1" "$out/libonnxruntime.so.1"
mv -f "$tmp/int8-runner" "$out/int8-runner"
echo "$out"
