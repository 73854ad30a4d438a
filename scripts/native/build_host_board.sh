#!/usr/bin/env bash
# Builds qm_host_board (runtime/firmware/host_board.c): the board side of the qm-fw serial protocol, the
# same C as the mps2-an385 firmware, for Linux on a pty paced to a baud rate (the serial tests' and
# bench/serial_bench.ts's peer). Prints the path: out/native/host/qm_host_board.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
fw="$root/runtime/firmware"
out=${OUT:-$root/out/native/host}
mkdir -p "$out"
# Build beside the target and rename into place: a board another process is running stays intact.
tmp=$(mktemp -d "$out/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
${CC:-gcc} -std=c99 -Wall -Wextra -pedantic -O2 ${CFLAGS:-} -I"$root/runtime/src" -I"$fw" -o "$tmp/qm_host_board" \
  "$fw/host_board.c" "$fw/serial_proto.c" "$fw/ram_files.c" "$fw/board_exec.c" \
  "$root"/runtime/src/fb.c "$root"/runtime/src/sha256.c "$root"/runtime/src/qm.c "$root"/runtime/src/ops/*.c -lm >&2
mv -f "$tmp/qm_host_board" "$out/qm_host_board"
echo "$out/qm_host_board"
