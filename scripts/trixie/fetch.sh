#!/usr/bin/env bash
# Fetches Debian trixie packages (.deb) without touching the system's apt sources, and unpacks them
# into one private root:   scripts/trixie/fetch.sh <root-dir> <package> [<package> ...]
# Used for what bookworm lacks: libonnxruntime-dev (the ORT C API header for the device runner) and
# adbd (the ADB test rig). The apt lists and the .debs are cached in .tools/trixie/; the root is
# rebuilt only when a package is missing from it. Prints the root's path.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dest=${1:?usage: fetch.sh <root-dir> <package>...}
shift
state="$root/.tools/trixie"
mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$state/debs" "$dest"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" \
  >"$state/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$state/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$state/lists" -o "Dir::Cache=$state/cache" -o Dir::State::Status=/dev/null
  -o APT::Sandbox::User=root -qq)
# Serialize concurrent callers (parallel tests) on one lock.
exec 9>"$state/.lock"
flock 9
if [ ! -s "$state/lists/.updated" ] || [ -n "$(find "$state/lists/.updated" -mmin +1440)" ]; then
  apt-get "${apt_opts[@]}" update >&2
  date >"$state/lists/.updated"
fi
for pkg in "$@"; do
  [ -e "$dest/.pkg-$pkg" ] && continue
  deb=$(ls "$state/debs/${pkg}_"*.deb 2>/dev/null | head -1 || true)
  if [ -z "$deb" ]; then
    (cd "$state/debs" && apt-get "${apt_opts[@]}" download "$pkg" >&2)
    deb=$(ls "$state/debs/${pkg}_"*.deb | head -1)
  fi
  dpkg-deb -x "$deb" "$dest"
  touch "$dest/.pkg-$pkg"
done
echo "$dest"
