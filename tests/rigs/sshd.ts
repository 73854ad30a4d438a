/**
 * A real OpenSSH sshd on 127.0.0.1 for device tests and benches: a free
 * port, a fresh ed25519 host key and client key (ssh-keygen), key-only login
 * as the current user, internal-sftp. With `board: "arm64"` (the default) it
 * runs inside tests/rigs/arm64_board.sh, so aarch64 binaries run directly in
 * its sessions (qemu-aarch64 through a private binfmt_misc), /proc/cpuinfo is
 * an ARM one and `uname` is an aarch64 build (tests/rigs/board_uname.c): the
 * rest of the userland is the host's.
 *
 *   const rig = await startSshd();
 *   const t = openTransport(rig.url, { identity: rig.identity, knownHosts: rig.knownHosts });
 *   …
 *   await rig.stop();
 *
 * Every process it starts is ended by PID in stop(); its temporary directory
 * (keys, config, the board directory the URL points at) is removed.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { descendants, signalPid } from "../../devices/_proc.ts";

/** Options of {@link startSshd}. */
export interface SshdRigOptions {
  /** "arm64" (default): sessions run on the emulated aarch64 board; "host": plain sshd. */
  board?: "arm64" | "host";
  /**
   * FAULT INJECTION for the transport's verification: puts a `sha256sum` first on the sessions' PATH that
   * either damages the file it is asked about before hashing it ("corrupt": overwrites its first bytes, as a
   * bad transfer or flash would) or prints a made-up digest ("lie").
   */
  sha256Fault?: "corrupt" | "lie";
}

/** A running sshd. */
export interface SshdRig {
  readonly port: number;
  /** `ssh://USER@127.0.0.1:PORT/<boardDir>`. */
  readonly url: string;
  readonly user: string;
  /** A fresh directory the URL points at (relative device paths land here); removed by stop(). */
  readonly boardDir: string;
  /** The client's private key file (its public half is the only authorized key). */
  readonly identity: string;
  /** A known_hosts file that already lists the host key as `[127.0.0.1]:PORT ssh-ed25519 …`. */
  readonly knownHosts: string;
  /** ssh-keygen's fingerprint of the host key, `SHA256:…`. */
  readonly hostKeyFingerprint: string;
  /** PID of the process the rig started (the board script, or sshd itself). */
  readonly pid: number;
  /** What sshd logged so far (stderr). */
  log(): string;
  /** Kills every sshd process of the rig (the listener and each session's) with SIGKILL, by PID: a board that vanishes. */
  killSshd(): number[];
  /** Ends everything the rig started and removes its directory. Safe to call twice. */
  stop(): Promise<void>;
}

const RIGS_DIR = fileURLToPath(new URL(".", import.meta.url));
const SSHD = "/usr/sbin/sshd";

async function run(command: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" }).output();
  const decoder = new TextDecoder();
  if (!out.success) {
    throw new Error(`${command} ${args.join(" ")} exited with ${out.code}: ${decoder.decode(out.stderr).trim()}`);
  }
  return decoder.decode(out.stdout);
}

/**
 * Compiles a C source for aarch64 (static, so it needs no QEMU_LD_PREFIX) with aarch64-linux-gnu-gcc.
 *
 * @example
 * ```ts ignore
 * await compileAarch64(`int main(void){return 0;}`, "/tmp/x/true-arm64");
 * ```
 */
export async function compileAarch64(source: string, output: string): Promise<void> {
  const src = `${output}.c`;
  await Deno.writeTextFile(src, source);
  try {
    await run("aarch64-linux-gnu-gcc", ["-O2", "-static", "-o", output, src]);
  } finally {
    await Deno.remove(src).catch(() => {});
  }
}

/** A process's start time (field 22 of /proc/PID/stat), to tell it from a later one with the same PID. */
function startTime(pid: number): string | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
  } catch {
    return null;
  }
}

/** A free TCP port on 127.0.0.1 (closed again at once; sshd binds it next). */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** The login name and home directory of this process's uid, from /etc/passwd. */
function currentUser(): { name: string; home: string } {
  const uid = Deno.uid();
  const line = Deno.readTextFileSync("/etc/passwd").split("\n").find((l) => l.split(":")[2] === String(uid));
  const [name, , , , , home] = line?.split(":") ?? [];
  if (!name || !home) throw new Error(`sshd rig: uid ${uid} is not in /etc/passwd`);
  return { name, home };
}

/** Waits until sshd answers on the port with its SSH banner. */
async function waitForBanner(port: number, exited: () => boolean, log: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (exited()) throw new Error(`sshd rig: sshd exited before listening:\n${log()}`);
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      try {
        const buf = new Uint8Array(64);
        const timer = setTimeout(() => conn.close(), 2_000);
        const n = await conn.read(buf).catch(() => null);
        clearTimeout(timer);
        if (n && new TextDecoder().decode(buf.subarray(0, n)).startsWith("SSH-2.0-")) return;
      } finally {
        try {
          conn.close();
        } catch {
          // closed by the timer
        }
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`sshd rig: no SSH banner on 127.0.0.1:${port} within 20 s:\n${log()}`);
}

const FAULT_SCRIPTS: Record<NonNullable<SshdRigOptions["sha256Fault"]>, string> = {
  corrupt: `#!/bin/sh
# FAULT INJECTION (tests/rigs/sshd.ts, sha256Fault "corrupt"): damages each file named before hashing it.
for f in "$@"; do case "$f" in -*) ;; *) printf 'CORRUPTED' | dd of="$f" bs=1 conv=notrunc 2>/dev/null ;; esac; done
exec /usr/bin/sha256sum "$@"
`,
  lie: `#!/bin/sh
# FAULT INJECTION (tests/rigs/sshd.ts, sha256Fault "lie"): reports a made-up digest for each file named.
for f in "$@"; do case "$f" in -*) ;; *) echo "$(printf '0%.0s' $(seq 64))  $f" ;; esac; done
`,
};

/**
 * Starts sshd and waits until it answers.
 *
 * @example
 * ```ts ignore
 * const rig = await startSshd({ board: "arm64" });
 * try {
 *   // openTransport(rig.url, { identity: rig.identity, knownHosts: rig.knownHosts })
 * } finally {
 *   await rig.stop();
 * }
 * ```
 */
export async function startSshd(options: SshdRigOptions = {}): Promise<SshdRig> {
  const board = options.board ?? "arm64";
  const dir = await Deno.makeTempDir({ prefix: "sshd-rig." });
  let child: Deno.ChildProcess | null = null;
  let logDone: Promise<void> = Promise.resolve();
  try {
    const boardDir = `${dir}/board`;
    const bin = `${dir}/bin`;
    await Deno.mkdir(boardDir);
    await Deno.mkdir(bin);
    await Deno.mkdir("/run/sshd", { recursive: true }); // sshd's privilege-separation directory
    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "sshd-rig-host", "-f", `${dir}/host_ed25519`]);
    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "sshd-rig-client", "-f", `${dir}/client_ed25519`]);
    await Deno.copyFile(`${dir}/client_ed25519.pub`, `${dir}/authorized_keys`);
    const hostPublicKey = (await Deno.readTextFile(`${dir}/host_ed25519.pub`)).trim().split(/\s+/).slice(0, 2);
    const hostKeyFingerprint = (await run("ssh-keygen", ["-l", "-f", `${dir}/host_ed25519.pub`])).split(/\s+/)[1]!;
    if (board === "arm64") await compileAarch64(await Deno.readTextFile(`${RIGS_DIR}/board_uname.c`), `${bin}/uname`);
    if (options.sha256Fault) {
      await Deno.writeTextFile(`${bin}/sha256sum`, FAULT_SCRIPTS[options.sha256Fault], { mode: 0o755 });
    }
    const port = freePort();
    const path = `${bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;
    await Deno.writeTextFile(
      `${dir}/sshd_config`,
      [
        `Port ${port}`,
        "ListenAddress 127.0.0.1",
        `HostKey ${dir}/host_ed25519`,
        `AuthorizedKeysFile ${dir}/authorized_keys`,
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PermitRootLogin prohibit-password",
        "UsePAM no",
        "StrictModes no",
        "Subsystem sftp internal-sftp",
        `PidFile ${dir}/sshd.pid`,
        "MaxSessions 32",
        "MaxStartups 64",
        `SetEnv QEMU_LD_PREFIX=/usr/aarch64-linux-gnu PATH=${path}`,
        "",
      ].join("\n"),
    );
    await Deno.writeTextFile(`${dir}/known_hosts`, `[127.0.0.1]:${port} ${hostPublicKey.join(" ")}\n`);

    // The board gets a home directory of its own (bind-mounted in its private mount namespace): the host
    // user's dotfiles are not the board's (here root's .bashrc runs `pyenv init`, ~150 ms per command).
    const user = currentUser();
    await Deno.mkdir(`${dir}/home`, { mode: 0o700 });
    const sshd = ["sh", "-c", 'mount --bind "$0" "$1" && shift && exec "$@"', `${dir}/home`, user.home, SSHD];
    const sshdArgs = ["-D", "-e", "-f", `${dir}/sshd_config`];
    const [command, ...args] = board === "arm64"
      ? ["bash", `${RIGS_DIR}/arm64_board.sh`, "--", ...sshd, ...sshdArgs]
      : ["unshare", "--mount", "--propagation", "private", ...sshd, ...sshdArgs];
    child = new Deno.Command(command!, { args, stdin: "null", stdout: "null", stderr: "piped" }).spawn();
    const started = child;
    let log = "";
    let exited = false;
    const status = started.status.then((s) => {
      exited = true;
      return s;
    });
    logDone = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of started.stderr) {
        if (log.length < 1_000_000) log += decoder.decode(chunk, { stream: true });
      }
    })();
    await waitForBanner(port, () => exited, () => log);

    let stopping: Promise<void> | null = null;
    // PID → start time: what the sessions ran outlives a killed sshd (reparented, no longer our descendant);
    // stop() ends it, if that PID is still the same process.
    const orphans = new Map<number, string | null>();
    const rig: SshdRig = {
      port,
      url: `ssh://${user.name}@127.0.0.1:${port}${boardDir}`,
      user: user.name,
      boardDir,
      identity: `${dir}/client_ed25519`,
      knownHosts: `${dir}/known_hosts`,
      hostKeyFingerprint,
      pid: started.pid,
      log: () => log,
      killSshd() {
        const tree = descendants(started.pid);
        for (const pid of tree) orphans.set(pid, startTime(pid));
        const pids = [started.pid, ...tree].filter((pid) => {
          try {
            return Deno.readTextFileSync(`/proc/${pid}/comm`).trim() === "sshd";
          } catch {
            return false;
          }
        });
        for (const pid of pids) signalPid(pid, "SIGKILL");
        return pids;
      },
      stop() {
        stopping ??= (async () => {
          // The root ends sshd's listener; the sessions and the commands they run outlive it, so they are
          // noted first and killed after.
          const leftovers = descendants(started.pid);
          signalPid(started.pid, "SIGTERM");
          const timer = setTimeout(() => signalPid(started.pid, "SIGKILL"), 5_000);
          await status;
          clearTimeout(timer);
          for (const pid of leftovers.reverse()) signalPid(pid, "SIGKILL");
          for (const [pid, started] of orphans) {
            if (started !== null && startTime(pid) === started) signalPid(pid, "SIGKILL");
          }
          await logDone.catch(() => {});
          await Deno.remove(dir, { recursive: true }).catch(() => {});
        })();
        return stopping;
      },
    };
    return rig;
  } catch (error) {
    if (child !== null) {
      for (const pid of descendants(child.pid).reverse()) signalPid(pid, "SIGKILL");
      signalPid(child.pid, "SIGKILL");
      await child.status;
      await logDone.catch(() => {});
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw error;
  }
}
