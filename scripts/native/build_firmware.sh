#!/usr/bin/env bash
# Builds the native runtime as firmware for QEMU's mps2-an385 board (Cortex-M3) with gcc-arm-none-eabi and
# newlib-nano into out/native/mps2-an385/qm_fw.elf (prints the path). Run: qemu-system-arm -M mps2-an385
# -display none -serial pty -kernel qm_fw.elf (tests/rigs/mps2_board.ts), then talk to it over the pty with
# devices/serial.ts (protocol: devices/_serial_protocol.ts, board side runtime/firmware/serial_proto.c).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
fw="$root/runtime/firmware/mps2-an385"
proto="$root/runtime/firmware"
out=${OUT:-$root/out/native/mps2-an385}
mkdir -p "$out"
tmp=$(mktemp -d "$out/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
arm-none-eabi-gcc -mcpu=cortex-m3 -mthumb -std=c99 -Wall -Wextra -O2 -ffunction-sections -fdata-sections \
  -nostartfiles --specs=nano.specs --specs=nosys.specs -Wl,--gc-sections -T "$fw/link.ld" \
  -I"$root/runtime/src" -I"$proto" -o "$tmp/qm_fw.elf" "$fw/startup.c" "$fw/main.c" \
  "$proto/serial_proto.c" "$proto/ram_files.c" "$proto/board_exec.c" \
  "$root"/runtime/src/fb.c "$root"/runtime/src/sha256.c "$root"/runtime/src/qm.c "$root"/runtime/src/ops/*.c >&2
mv -f "$tmp/qm_fw.elf" "$out/qm_fw.elf"
echo "$out/qm_fw.elf"
