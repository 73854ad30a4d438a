#!/usr/bin/env bash
# Builds the native runtime's runner for one architecture into out/native/<arch>/qm_run.
#   scripts/native/build.sh host      gcc, native, -march=native (AVX2 kernels where the CPU has AVX2)
#   scripts/native/build.sh aarch64   aarch64-linux-gnu-gcc, static, NEON kernels (run: qemu-aarch64 out/native/aarch64/qm_run)
#   scripts/native/build.sh armv7     arm-linux-gnueabihf-gcc, static, portable kernels (run: qemu-arm out/native/armv7/qm_run)
# Extra flags: OPT="-O0 -g -fsanitize=address,undefined" scripts/native/build.sh host
# Kernel choice (runtime/src/ops/simd.h) follows the target flags, ARCH_FLAGS overrides the defaults above:
#   ARCH_FLAGS="-msse4.1" (SSE4.1 kernels)   ARCH_FLAGS="-DQM_PORTABLE" (plain C)   ARCH_FLAGS="-mfpu=neon" (armv7 NEON)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
arch=${1:-host}
case "$arch" in
  host) cc=${CC:-gcc}; ldflags=""; arch_flags=${ARCH_FLAGS-"-march=native"} ;;
  aarch64) cc=aarch64-linux-gnu-gcc; ldflags="-static"; arch_flags=${ARCH_FLAGS-""} ;;
  armv7) cc=arm-linux-gnueabihf-gcc; ldflags="-static"; arch_flags=${ARCH_FLAGS-""} ;;
  *) echo "build.sh: unknown architecture $arch (host, aarch64, armv7)" >&2; exit 2 ;;
esac
out=${OUT:-$root/out/native/$arch}
mkdir -p "$out"
# Build beside the target and rename into place: a runner another process is executing stays intact.
tmp=$(mktemp -d "$out/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
make -s -B -C "$root/runtime" CC="$cc" OUT="$tmp" LDFLAGS="$ldflags" CFLAGS="$arch_flags" ${OPT:+OPT="$OPT"} >&2
mv -f "$tmp/qm_run" "$out/qm_run"
echo "$out/qm_run"
