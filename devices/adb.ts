/**
 * `adb://[serial][?server=<socket-spec>]`: an Android (or any adbd) device
 * through the real adb server, driven by the `adb` command-line client run
 * through the injected {@link Spawner}.
 *
 * - Server: `?server=` is passed as `adb -L <spec>` (`tcp:host:port`,
 *   `localfilesystem:/path/adb.sock`); without it `adb -H 127.0.0.1`, so adb
 *   uses its own `ANDROID_ADB_SERVER_PORT` (default 5037). The transport never
 *   lets adb start a server (adb only auto-starts one for "local" specs such
 *   as `tcp:localhost:…` and `localfilesystem:`; those are rewritten to
 *   127.0.0.1 or checked to be a live socket first): nothing it starts
 *   outlives {@link AdbTransport.close}. Start one with `adb start-server`.
 * - exec: with the device feature `shell_v2` (adbd ≥ 7.0; `adb features`),
 *   `adb shell -T` keeps stdout and stderr apart; without it, `adb exec-out`
 *   (one stream: stderr arrives merged into stdout). The exit code comes from
 *   a marker in both modes, `printf '\n__EXIT_<nonce>=%d\n' $?` appended to
 *   the command: adb 1.0.41 exits with the remote code under shell v2, but
 *   also exits 0 when the stream ends without one (the device went away), so
 *   its code alone cannot prove the command finished. Each command first
 *   prints its shell's PID (`echo $$; …`): on a timeout the local adb is
 *   killed and then `kill -9 -PID` on the device (adbd makes every shell a
 *   session leader, so its children go too).
 * - push: `mkdir -p`, `adb push`, then `sha256sum` on the device (only
 *   SHA-256; no md5 fallback). pull: `adb pull` into a temp file.
 * - Errors: connect() (`adb get-state`) failing — no server, no such serial,
 *   offline, unauthorized — is `unreachable` with adb's own message; after
 *   connect, a push, pull or exec that fails is followed by `adb get-state`,
 *   and a device no longer in state "device" makes it `disconnected`.
 *
 * @module
 */

import { dirname } from "node:path";
import { INFO_SCRIPT, parseInfo } from "./_info.ts";
import {
  checkExit,
  denoSpawner,
  DeviceError,
  type DeviceErrorKind,
  type DeviceInfo,
  type ExecOptions,
  type ExecResult,
  type PushResult,
  quote,
  sha256Hex,
  shellCommand,
  type SpawnedProcess,
  type Spawner,
  type Transport,
} from "./transport.ts";

const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** How long the clean-up commands (remote kill, state probe) may take. */
const HOUSEKEEPING_TIMEOUT_MS = 10_000;

/** What one `adb` client run produced. */
interface AdbRun {
  /** adb's exit code (null when it was killed). */
  code: number | null;
  stdout: Uint8Array;
  stderr: Uint8Array;
  timedOut: boolean;
}

/** Reads a whole stream; `until` sees everything read so far after each chunk until it returns true. */
async function readAll(stream: ReadableStream<Uint8Array>, until?: (all: Uint8Array) => boolean): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let watching = until !== undefined;
  try {
    for await (const chunk of stream) {
      chunks.push(chunk);
      if (watching) watching = !until!(concat(chunks));
    }
  } catch {
    // the process was killed; keep what arrived
  }
  return concat(chunks);
}

function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  chunks.splice(0, chunks.length, out);
  return out;
}

const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** adb's own output without its log lines (`adb W 11-23 21:33:43 … network.cpp:150] …`). */
function adbMessage(run: Pick<AdbRun, "stdout" | "stderr">): string {
  return (decode(run.stderr) + "\n" + decode(run.stdout))
    .split("\n")
    .filter((line) => line.trim() !== "" && !/^adb [VDIWEF] \d\d-\d\d /.test(line))
    .join("\n")
    .trim();
}

/**
 * Where the adb server is, as adb's global arguments; local specs are made
 * non-local so that adb never starts a server of its own.
 *
 * @example
 * ```ts
 * import { serverArgs } from "./adb.ts";
 * serverArgs(null); // ["-H", "127.0.0.1"]
 * serverArgs("tcp:localhost:5038"); // ["-L", "tcp:127.0.0.1:5038"]
 * ```
 */
export function serverArgs(spec: string | null): string[] {
  if (spec === null) return ["-H", "127.0.0.1"];
  const tcp = /^tcp:(?:(localhost|\[::1\]|)?:)?(\d+)$/.exec(spec);
  if (tcp) return ["-L", `tcp:${tcp[1] === "[::1]" ? "[::1]" : "127.0.0.1"}:${tcp[2]}`];
  return ["-L", spec];
}

/**
 * Splits the output of an exec whose script starts with `echo $$` and ends
 * with `printf '\n__EXIT_<nonce>=%d\n' $?` into the remote PID, the
 * command's own stdout, and the marker's exit code (null when `nonce` is
 * null or the marker never came).
 *
 * @example
 * ```ts
 * import { parseExecOutput } from "./adb.ts";
 * const out = new TextEncoder().encode("4242\nhello\n__EXIT_ab12=3\n");
 * const r = parseExecOutput(out, "ab12");
 * [r.pid, new TextDecoder().decode(r.stdout), r.code]; // [4242, "hello", 3]
 * ```
 */
export function parseExecOutput(
  output: Uint8Array,
  nonce: string | null,
): { pid: number | null; stdout: Uint8Array; code: number | null } {
  const newline = output.indexOf(10);
  const first = newline < 0 ? "" : decode(output.subarray(0, newline));
  const pid = /^\d+$/.test(first) ? Number(first) : null;
  let stdout = pid === null ? output : output.subarray(newline + 1);
  if (nonce === null) return { pid, stdout, code: null };
  // The marker is the last line; the "\n" before it was added by us, not by the command.
  const marker = new TextEncoder().encode(`\n__EXIT_${nonce}=`);
  const text = decode(stdout);
  const match = new RegExp(`\\n__EXIT_${nonce}=(\\d+)\\n?$`).exec(text);
  if (!match) return { pid, stdout, code: null };
  const at = lastIndexOf(stdout, marker);
  stdout = stdout.subarray(0, at);
  return { pid, stdout, code: Number(match[1]) };
}

function lastIndexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = haystack.length - needle.length; i >= 0; i--) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** Android ABI (ro.product.cpu.abi) → the `uname -m` spelling DeviceInfo uses. */
const ABI_ARCH: Record<string, string> = {
  "arm64-v8a": "aarch64",
  "armeabi-v7a": "armv7l",
  "armeabi": "armv5tel",
  "x86_64": "x86_64",
  "x86": "i686",
  "riscv64": "riscv64",
};

/** Android properties first (when the device has getprop), then {@link INFO_SCRIPT}'s Linux facts. */
const ADB_INFO_SCRIPT = [
  "if command -v getprop >/dev/null 2>&1; then",
  "echo @model; getprop ro.product.model; echo @release; getprop ro.build.version.release;",
  "echo @abi; getprop ro.product.cpu.abi; fi",
].join(" ") + "; " + INFO_SCRIPT;

/**
 * Reads the output of the info script: Android's model, release and ABI when
 * getprop answered, else uname / /proc/cpuinfo / nproc.
 *
 * @example
 * ```ts
 * import { parseAdbInfo } from "./adb.ts";
 * const info = parseAdbInfo("@model\nPixel 7\n@release\n14\n@abi\narm64-v8a\n@arch\naarch64\n@kernel\nLinux 5.10\n@cores\n8\n@os-release\n@cpuinfo\n");
 * [info.os, info.arch, info.cores]; // ["Android 14 (Pixel 7)", "aarch64", 8]
 * ```
 */
export function parseAdbInfo(output: string): DeviceInfo {
  const linux = parseInfo(output);
  const section = (name: string) => {
    const m = new RegExp(`^@${name}\\n([^@]*?)\\s*(?=^@|$(?![\\s\\S]))`, "m").exec(output);
    return m?.[1]?.trim() || null;
  };
  const release = section("release");
  const model = section("model");
  const abi = section("abi");
  return {
    arch: (abi ? ABI_ARCH[abi] ?? abi : null) ?? linux.arch,
    cpuModel: linux.cpuModel,
    cores: linux.cores,
    os: release ? `Android ${release}${model ? ` (${model})` : ""}` : linux.os,
  };
}

/**
 * A device behind an adb server.
 *
 * @example
 * ```ts ignore
 * const t = new AdbTransport({ serial: "emulator-5554", server: null });
 * await t.connect();
 * await t.push(new TextEncoder().encode("hi"), "/data/local/tmp/int8/a.txt"); // SHA-256 checked on the device
 * const r = await t.exec(["cat", "/data/local/tmp/int8/a.txt"]);
 * await t.close();
 * ```
 */
export class AdbTransport implements Transport {
  readonly url: string;
  readonly #serial: string | null;
  readonly #server: string | null;
  readonly #spawner: Spawner;
  readonly #connectTimeoutMs: number;
  readonly #running = new Set<SpawnedProcess>();
  #connected = false;
  #closed = false;
  #shellV2 = false;
  #info: DeviceInfo | null = null;

  constructor(
    options: { serial: string | null; server: string | null; spawner?: Spawner; connectTimeoutMs?: number },
  ) {
    this.#serial = options.serial;
    this.#server = options.server;
    this.#spawner = options.spawner ?? denoSpawner;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.url = `adb://${this.#serial ?? ""}${this.#server === null ? "" : `?server=${this.#server}`}`;
  }

  /** Whether exec uses shell v2 (stderr apart from stdout) rather than `exec-out` (merged); known after connect(). */
  get shellV2(): boolean {
    return this.#shellV2;
  }

  /** Runs the adb client once: global args (server, serial) + `args`; kills it after `timeoutMs`. */
  async #adb(
    args: readonly string[],
    timeoutMs: number | null,
    watchStdout?: (all: Uint8Array) => boolean,
  ): Promise<AdbRun> {
    if (this.#closed) throw new DeviceError("unreachable", `${this.url}: the transport is closed`);
    await this.#checkLocalServer();
    const serial = this.#serial === null ? [] : ["-s", this.#serial];
    const proc = this.#spawner("adb", [...serverArgs(this.#server), ...serial, ...args]);
    this.#running.add(proc);
    let timedOut = false;
    const timer = timeoutMs === null ? undefined : setTimeout(() => {
      timedOut = true;
      try {
        proc.kill("SIGKILL");
      } catch {
        // already gone
      }
    }, timeoutMs);
    try {
      await proc.stdin.close().catch(() => {});
      const [stdout, stderr, status] = await Promise.all([
        readAll(proc.stdout, watchStdout),
        readAll(proc.stderr),
        proc.status,
      ]);
      return { code: status.signal === null ? status.code : null, stdout, stderr, timedOut };
    } finally {
      clearTimeout(timer);
      this.#running.delete(proc);
    }
  }

  /**
   * adb starts a server by itself when it cannot reach one at a local socket spec; for a
   * `localfilesystem:` server, first make sure something is listening there.
   */
  async #checkLocalServer(): Promise<void> {
    const path = /^localfilesystem:(.+)$/.exec(this.#server ?? "")?.[1];
    if (path === undefined) return;
    try {
      (await Deno.connect({ transport: "unix", path })).close();
    } catch (e) {
      throw new DeviceError(
        this.#connected ? "disconnected" : "unreachable",
        `${this.url}: no adb server at ${this.#server}: ${e instanceof Error ? e.message : e}`,
        { cause: e },
      );
    }
  }

  /** A DeviceError for an adb run that failed before or outside the remote command, with adb's message. */
  #failure(what: string, run: AdbRun, kind: DeviceErrorKind): DeviceError {
    const message = adbMessage(run) || `adb exited with ${run.code}`;
    return new DeviceError(kind, `${this.url}: ${what}: ${message}`, {
      code: run.code,
      stdout: decode(run.stdout),
      stderr: decode(run.stderr),
    });
  }

  /** After a failed transfer: is the device still there? (`adb get-state` prints "device".) */
  async #stillThere(): Promise<boolean> {
    const state = await this.#adb(["get-state"], HOUSEKEEPING_TIMEOUT_MS).catch(() => null);
    return state !== null && state.code === 0 && decode(state.stdout).trim() === "device";
  }

  async connect(): Promise<void> {
    if (this.#connected) return;
    const state = await this.#adb(["get-state"], this.#connectTimeoutMs);
    if (state.timedOut) {
      throw new DeviceError(
        "unreachable",
        `${this.url}: adb get-state gave no answer within ${this.#connectTimeoutMs} ms`,
      );
    }
    const answer = decode(state.stdout).trim();
    if (state.code !== 0 || answer !== "device") {
      throw this.#failure(answer ? `the device is ${answer}` : "cannot reach the device", state, "unreachable");
    }
    const features = await this.#adb(["features"], this.#connectTimeoutMs);
    if (features.code !== 0) throw this.#failure("adb features", features, "unreachable");
    const hostFeatures = await this.#adb(["host-features"], this.#connectTimeoutMs);
    const has = (run: AdbRun, name: string) => decode(run.stdout).split(/[\s,]+/).includes(name);
    // shell v2 needs it on both ends; a server too old for host-features has no shell v2 either.
    this.#shellV2 = has(features, "shell_v2") && hostFeatures.code === 0 && has(hostFeatures, "shell_v2");
    this.#connected = true;
  }

  #requireConnected(): void {
    if (!this.#connected) throw new DeviceError("unreachable", `${this.url}: not connected (call connect() first)`);
  }

  async exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    this.#requireConnected();
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const where = {
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      ...(options.env === undefined ? {} : { env: options.env }),
    };
    // Both modes end with an exit marker: adb (1.0.41) exits 0 when a shell-v2 stream ends without its
    // exit packet (the device went away mid-command), so the code alone cannot prove the command ran.
    // The shell stays the parent of the command, and leads its own session: `kill -9 -PID` ends both.
    const nonce = crypto.randomUUID().replaceAll("-", "").slice(0, 12);
    const script = `echo $$; ${shellCommand(argv, where)}; printf '\\n__EXIT_${nonce}=%d\\n' $?`;
    let pid: number | null = null;
    const run = await this.#adb(
      this.#shellV2 ? ["shell", "-T", script] : ["exec-out", script],
      timeoutMs,
      (all) => {
        pid = parseExecOutput(all, null).pid;
        return all.includes(10);
      },
    );
    const shown = argv.map(quote).join(" ");
    if (run.timedOut) {
      const killed = pid !== null && await this.#killRemote(pid);
      throw new DeviceError(
        "timeout",
        `${this.url}: \`${shown}\` ran past ${timeoutMs} ms and was killed` +
          (pid === null
            ? " (locally; it had not started on the device)"
            : killed
            ? ` (remote PID ${pid})`
            : ` (remote PID ${pid} may still run)`),
        { stdout: decode(run.stdout), stderr: decode(run.stderr) },
      );
    }
    const parsed = parseExecOutput(run.stdout, nonce);
    if (parsed.pid === null) {
      // The remote shell never ran: adb could not reach the device.
      throw this.#failure(`\`${shown}\``, run, (await this.#stillThere()) ? "protocol" : "disconnected");
    }
    let code = parsed.code;
    if (code === null) {
      // No marker: the stream ended early. Either the device went away, or the shell itself was
      // killed (shell v2 then still reports 128 + signal).
      if (!(await this.#stillThere())) throw this.#failure(`\`${shown}\` lost the device`, run, "disconnected");
      if (!this.#shellV2 || run.code === null || run.code === 0) {
        throw this.#failure(`\`${shown}\` ended without an exit status`, run, "protocol");
      }
      code = run.code;
    }
    const result: ExecResult = { stdout: parsed.stdout, stderr: run.stderr, code };
    return options.check === false ? result : checkExit(this.url, argv, result);
  }

  /** Kills a remote process group (or the process, if it leads none); true when the kill ran. */
  async #killRemote(pid: number): Promise<boolean> {
    const script = `kill -9 -${pid} 2>/dev/null || kill -9 ${pid} 2>/dev/null; echo killed`;
    const run = await this.#adb([this.#shellV2 ? "shell" : "exec-out", script], HOUSEKEEPING_TIMEOUT_MS)
      .catch(() => null);
    return run !== null && decode(run.stdout).includes("killed");
  }

  async push(
    data: Uint8Array | { path: string },
    remote: string,
    options: { mode?: number } = {},
  ): Promise<PushResult> {
    this.#requireConnected();
    const start = performance.now();
    const temp = data instanceof Uint8Array ? await Deno.makeTempFile({ prefix: "adb-push." }) : null;
    try {
      let bytes: Uint8Array;
      let local: string;
      if (temp !== null) {
        bytes = data as Uint8Array;
        await Deno.writeFile(temp, bytes, { mode: 0o644 });
        await Deno.chmod(temp, 0o644);
        local = temp;
      } else {
        local = (data as { path: string }).path;
        bytes = await Deno.readFile(local).catch((e) => {
          throw new DeviceError(
            "exit",
            `${this.url}: push: cannot read ${local}: ${e instanceof Error ? e.message : e}`,
          );
        });
      }
      const localSha = sha256Hex(bytes);
      await this.exec(["mkdir", "-p", dirname(remote)], { timeoutMs: HOUSEKEEPING_TIMEOUT_MS });
      const run = await this.#adb(["push", local, remote], null);
      if (run.code !== 0) {
        const kind = (await this.#stillThere()) ? "exit" : "disconnected";
        throw this.#failure(`push ${temp === null ? local : `${bytes.length} bytes`} → ${remote}`, run, kind);
      }
      const sha256 = await localSha;
      const mode = options.mode === undefined ? "" : `chmod ${options.mode.toString(8)} ${quote(remote)} && `;
      const check = await this.exec(
        ["sh", "-c", `${mode}{ sha256sum ${quote(remote)} || toybox sha256sum ${quote(remote)}; }`],
        { check: false, timeoutMs: DEFAULT_TIMEOUT_MS },
      );
      const remoteSha = /^([0-9a-f]{64})\b/.exec(decode(check.stdout).trim())?.[1];
      if (check.code !== 0 || remoteSha === undefined) {
        throw new DeviceError(
          "verify",
          `${this.url}: cannot verify ${remote}: ${
            mode ? "chmod or " : ""
          }sha256sum on the device failed (${check.code}): ` +
            (decode(check.stderr).trim() || decode(check.stdout).trim()),
          { code: check.code, stdout: decode(check.stdout), stderr: decode(check.stderr) },
        );
      }
      if (remoteSha !== sha256) {
        throw new DeviceError(
          "verify",
          `${this.url}: ${remote} on the device has SHA-256 ${remoteSha}, expected ${sha256} (${bytes.length} bytes pushed)`,
        );
      }
      return { remote, bytes: bytes.length, sha256, ms: performance.now() - start };
    } finally {
      if (temp !== null) await Deno.remove(temp).catch(() => {});
    }
  }

  async pull(remote: string): Promise<Uint8Array> {
    this.#requireConnected();
    const dir = await Deno.makeTempDir({ prefix: "adb-pull." });
    try {
      const local = `${dir}/file`;
      const run = await this.#adb(["pull", remote, local], null);
      if (run.code !== 0) {
        const kind = (await this.#stillThere()) ? "exit" : "disconnected";
        throw this.#failure(`pull ${remote}`, run, kind);
      }
      return await Deno.readFile(local);
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  }

  async info(): Promise<DeviceInfo> {
    if (this.#info) return this.#info;
    const r = await this.exec(["sh", "-c", ADB_INFO_SCRIPT], { timeoutMs: 30_000 });
    this.#info = parseAdbInfo(decode(r.stdout));
    return this.#info;
  }

  close(): Promise<void> {
    this.#closed = true;
    for (const proc of this.#running) {
      try {
        proc.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
    this.#running.clear();
    return Promise.resolve();
  }
}

/**
 * The `adb://[serial][?server=<socket-spec>]` opener for devices/mod.ts.
 *
 * @example
 * ```ts
 * import { openAdb } from "./adb.ts";
 * openAdb(new URL("adb://emulator-5554?server=tcp:127.0.0.1:5037"), {}).url; // "adb://emulator-5554?server=tcp:127.0.0.1:5037"
 * ```
 */
export function openAdb(url: URL, options: { spawner?: Spawner; connectTimeoutMs?: number }): AdbTransport {
  const serial = decodeURIComponent(url.host) || null;
  const server = url.searchParams.get("server");
  const unknown = [...url.searchParams.keys()].filter((k) => k !== "server");
  if (url.username || url.password || (url.pathname !== "" && url.pathname !== "/") || unknown.length > 0) {
    throw new DeviceError("url", `Cannot parse ADB URL "${url.href}": expected adb://[serial][?server=<socket-spec>]`);
  }
  return new AdbTransport({
    serial,
    server: server || null,
    ...(options.spawner === undefined ? {} : { spawner: options.spawner }),
    ...(options.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.connectTimeoutMs }),
  });
}
