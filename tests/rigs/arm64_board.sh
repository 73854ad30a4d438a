#!/usr/bin/env bash
# Runs a command as if on an aarch64 Linux board, for the device test rigs (sshd, adbd):
#   tests/rigs/arm64_board.sh [--net] -- COMMAND [ARG...]
# The command gets a private user namespace (uids/gids 0-65535 mapped to themselves, so sshd's
# privilege separation still works), a private mount namespace with
#   - its own binfmt_misc instance (Linux >= 6.7) where qemu-aarch64 is registered for aarch64 ELF
#     files (and qemu-arm for 32-bit ARM ones, as on a board with compat support), so ARM binaries run
#     directly; the host's binfmt_misc is left untouched;
#   - a fake ARM /proc/cpuinfo bind-mounted over the real one (ONNX Runtime's cpuinfo crashes under
#     qemu-user on the host's x86 one);
# QEMU_LD_PREFIX pointing at Debian's aarch64 cross libc, and with --net a private network namespace
# with only loopback (adbd also listens on vsock and on every address).
# Stays in the foreground; SIGTERM/SIGINT to this script end the command.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
net=""
while [ $# -gt 0 ]; do
  case "$1" in
    --net) net="--net"; shift ;;
    --) shift; break ;;
    *) echo "arm64_board.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ $# -gt 0 ] || { echo "usage: arm64_board.sh [--net] -- COMMAND [ARG...]" >&2; exit 2; }
command -v qemu-aarch64 >/dev/null || { echo "arm64_board.sh: qemu-aarch64 missing (Debian qemu-user)" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/arm64-board.XXXXXX")
child=""
cleanup() {
  [ -n "$child" ] && kill -TERM "$child" 2>/dev/null && wait "$child" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

mkfifo "$tmp/go"
cp "$here/arm64_cpuinfo.txt" "$tmp/cpuinfo"
# aarch64 ELF: e_ident class 64-bit LE, e_type EXEC or DYN (mask 0xfe), e_machine 0xb7.
python3 - "$tmp/register" "$tmp/register32" <<'PY'
import sys
magic = b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00"
mask = b"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff"
esc = lambda b: "".join("\\x%02x" % c for c in b)
open(sys.argv[1], "w").write(":qemu-aarch64:M::%s:%s:/usr/bin/qemu-aarch64:F" % (esc(magic), esc(mask)))
# 32-bit ARM (EM_ARM 0x28), as an aarch64 board with compat support runs armv7 binaries.
magic32 = b"\x7fELF\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x28\x00"
open(sys.argv[2], "w").write(":qemu-arm:M::%s:%s:/usr/bin/qemu-arm:F" % (esc(magic32), esc(mask)))
PY
cat >"$tmp/inner.sh" <<'INNER'
set -e
read -r _ <"$BOARD_TMP/go"
mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
cat "$BOARD_TMP/register" >/proc/sys/fs/binfmt_misc/register
cat "$BOARD_TMP/register32" >/proc/sys/fs/binfmt_misc/register
mount --bind "$BOARD_TMP/cpuinfo" /proc/cpuinfo
if [ -n "$BOARD_NET" ]; then ip link set lo up 2>/dev/null || busybox ifconfig lo 127.0.0.1 up 2>/dev/null || true; fi
export QEMU_LD_PREFIX=/usr/aarch64-linux-gnu
exec "$@"
INNER
BOARD_TMP="$tmp" BOARD_NET="$net" unshare --user --mount $net --propagation private \
  bash "$tmp/inner.sh" "$@" &
child=$!
# Wait until unshare has entered its new user namespace (its map is writable only then).
for _ in $(seq 1 500); do
  [ "$(readlink "/proc/$child/ns/user" 2>/dev/null)" != "$(readlink /proc/self/ns/user)" ] && break
  sleep 0.01
done
# The parent (real root) writes the identity map, then lets the child go on.
echo "0 0 65536" >"/proc/$child/uid_map"
echo "0 0 65536" >"/proc/$child/gid_map"
echo go >"$tmp/go"
set +e
wait "$child"
code=$?
child=""
exit $code
