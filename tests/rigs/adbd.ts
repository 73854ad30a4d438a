/**
 * The ADB test rig: a real adbd (Debian trixie's 34.0.5, unpacked into a
 * private root by scripts/trixie/fetch.sh and started through that root's
 * loader) on an emulated aarch64 "phone" (tests/rigs/arm64_board.sh --net:
 * aarch64 binaries run through qemu, fake ARM /proc/cpuinfo, private network
 * namespace), and a real adb server (Debian's adb) in the same namespace.
 *
 * adbd listens on tcp:5555 and vsock:5555, hence the network namespace; the
 * server must share it to reach 127.0.0.1:5555. The server listens only on a
 * Unix socket in the rig's temp dir (`localfilesystem:<tmp>/adb.sock`): a
 * path-based socket is reachable from the host namespace, and nothing is
 * bound to port 5037. The server's HOME (its ~/.android keys) is in the temp
 * dir too. Nothing is created outside the temp dir: the "phone" has no
 * /data/local/tmp, its scratch space is {@link AdbRig.deviceDir}.
 *
 * @module
 */

const REPO = new URL("../../", import.meta.url).pathname;
const ROOT = `${REPO}.tools/trixie-adbd`;
/**
 * adbd and its dependency closure in trixie, resolved once with
 * `apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces
 * --no-enhances --no-pre-depends adbd` under scripts/trixie/fetch.sh's private apt config.
 */
const ADBD_PACKAGES = [
  "adbd",
  "android-libbase",
  "android-libboringssl",
  "android-libcutils",
  "android-liblog",
  "gcc-14-base",
  "libbrotli1",
  "libbsd0",
  "libc6",
  "libcap2",
  "libgcc-s1",
  "liblz4-1",
  "libmd0",
  "libprotobuf32t64",
  "libstdc++6",
  "libsystemd0",
  "libxxhash0",
  "libzstd1",
  "zlib1g",
];

/** A running rig. */
export interface AdbRig {
  /** `adb://127.0.0.1:5555?server=localfilesystem:…` — what the transport opens. */
  url: string;
  /** The device's serial as the server lists it. */
  serial: string;
  /** The server's socket spec for `adb -L`. */
  serverSpec: string;
  /** A writable directory on the "phone" (the shell's cwd); `<deviceDir>/bin` is first on the device PATH. */
  deviceDir: string;
  /** PID of adbd (a test kills it to pull the plug). */
  adbdPid: number;
  /** PID of the adb server. */
  serverPid: number;
  /** Kills every process of the rig by PID (adbd, its shells, the server, the namespace) and removes the temp dir. */
  stop(): Promise<void>;
}

// Runs inside the namespace: adbd and the server in the background, PIDs into files, then
// `adb connect` and a wait until `adb devices` lists it as "device" (the host never runs an adb
// client against the rig while it starts: one that finds no server would start its own); stays
// alive (the namespace holder) until its children are gone or it is killed.
const INNER = String.raw`set -eu
T=$1 ROOT=$2
export HOME="$T/home" ANDROID_SDK_HOME="$T/home" ANDROID_USER_HOME="$T/home/.android"
unset ADB_VENDOR_KEYS ANDROID_ADB_SERVER_PORT ADB_SERVER_SOCKET
cd "$T/device"
LIBS="$ROOT/usr/lib/x86_64-linux-gnu/android:$ROOT/usr/lib/x86_64-linux-gnu"
PATH="$T/device/bin:$PATH" ADBD_PORT=5555 "$ROOT/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" \
  --library-path "$LIBS" "$ROOT/usr/lib/android-sdk/platform-tools/adbd" >"$T/adbd.log" 2>&1 </dev/null &
echo $! >"$T/adbd.pid"
adb -L "localfilesystem:$T/adb.sock" server nodaemon >"$T/server.log" 2>&1 </dev/null &
echo $! >"$T/server.pid"
for _ in $(seq 1 200); do [ -S "$T/adb.sock" ] && break; sleep 0.05; done
for _ in $(seq 1 200); do
  adb -L "localfilesystem:$T/adb.sock" connect 127.0.0.1:5555 2>&1 | grep -q '^connected to' && break
  sleep 0.05
done
for _ in $(seq 1 400); do
  adb -L "localfilesystem:$T/adb.sock" devices 2>&1 | grep -q '^127\.0\.0\.1:5555[[:space:]]*device$' && {
    echo ready >"$T/ready"
    break
  }
  sleep 0.05
done
wait
`;

async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed (${out.code}): ${text}`);
  return text;
}

function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function signal(pid: number, sig: Deno.Signal): void {
  try {
    Deno.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Every process whose network namespace is `netns` (the rig's), found by one scan of /proc. */
function processesIn(netns: string): number[] {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    const pid = Number(entry.name);
    if (!Number.isInteger(pid) || pid === Deno.pid) continue;
    try {
      if (Deno.readLinkSync(`/proc/${pid}/ns/net`) === netns) pids.push(pid);
    } catch {
      // gone, or a kernel thread
    }
  }
  return pids;
}

async function waitFor(what: string, ms: number, ok: () => boolean | Promise<boolean>, log: () => string) {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`ADB rig: ${what} did not happen within ${ms} ms\n${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Fetches adbd (cached), starts the rig and waits until the server lists the device as `device`.
 *
 * @example
 * ```ts ignore
 * const rig = await startAdbRig();
 * try {
 *   const t = openTransport(rig.url);
 *   await t.connect();
 * } finally {
 *   await rig.stop();
 * }
 * ```
 */
export async function startAdbRig(): Promise<AdbRig> {
  await run(`${REPO}scripts/trixie/fetch.sh`, [ROOT, ...ADBD_PACKAGES]);
  const tmp = await Deno.makeTempDir({ prefix: "adb-rig." });
  const deviceDir = `${tmp}/device`;
  await Deno.mkdir(`${tmp}/home/.android`, { recursive: true });
  await Deno.mkdir(`${deviceDir}/bin`, { recursive: true });
  await Deno.writeTextFile(`${tmp}/inner.sh`, INNER);
  const board = new Deno.Command(`${REPO}tests/rigs/arm64_board.sh`, {
    args: ["--net", "--", "bash", `${tmp}/inner.sh`, tmp, ROOT],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const serverSpec = `localfilesystem:${tmp}/adb.sock`;
  const serial = "127.0.0.1:5555";
  const readPid = (name: string) => Number(Deno.readTextFileSync(`${tmp}/${name}.pid`).trim());
  const logs = () => {
    const read = (f: string) => {
      try {
        return Deno.readTextFileSync(`${tmp}/${f}`);
      } catch {
        return "(none)";
      }
    };
    return `adbd.log: ${read("adbd.log")}\nserver.log: ${read("server.log").slice(-2000)}`;
  };
  let netns: string | null = null;
  let boardDone = false;
  const boardStatus = board.status.then((s) => {
    boardDone = true;
    return s;
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // adbd and the server first: the namespace's shell (their parent) reaps them and exits.
    for (const name of ["adbd", "server"]) {
      try {
        signal(readPid(name), "SIGKILL");
      } catch {
        // never started
      }
    }
    let grace: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([boardStatus, new Promise((r) => grace = setTimeout(r, 2000))]);
    clearTimeout(grace);
    // adbd's shells lead sessions of their own and outlive adbd: end whatever still lives in the
    // rig's network namespace, by PID, then the holder.
    if (netns) { for (const pid of processesIn(netns)) signal(pid, "SIGKILL"); }
    signal(board.pid, "SIGTERM");
    const timer = setTimeout(() => signal(board.pid, "SIGKILL"), 5000);
    await boardStatus;
    clearTimeout(timer);
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  };
  try {
    await waitFor("adbd and the server starting", 20_000, () => {
      if (boardDone) throw new Error(`ADB rig: the namespace exited early\n${logs()}`);
      try {
        return readPid("adbd") > 0 && readPid("server") > 0;
      } catch {
        return false;
      }
    }, logs);
    const adbdPid = readPid("adbd");
    const serverPid = readPid("server");
    netns = Deno.readLinkSync(`/proc/${adbdPid}/ns/net`);
    await waitFor(`adb connect ${serial} and "device" in adb devices`, 40_000, () => {
      if (boardDone) throw new Error(`ADB rig: the namespace exited early\n${logs()}`);
      if (!alive(adbdPid) || !alive(serverPid)) throw new Error(`ADB rig: adbd or the server died\n${logs()}`);
      return exists(`${tmp}/ready`);
    }, logs);
    return {
      url: `adb://${serial}?server=${serverSpec}`,
      serial,
      serverSpec,
      deviceDir,
      adbdPid,
      serverPid,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
