/**
 * `local://[/base-dir]`: the host itself as a device. Files are written
 * atomically (temporary file + rename) and read back to verify their
 * SHA-256; commands run through the injected {@link Spawner}; a command past
 * its timeout is killed with everything it started.
 *
 * @module
 */

import { dirname, isAbsolute, join } from "node:path";
import { INFO_SCRIPT, parseInfo } from "./_info.ts";
import { killDescendants } from "./_proc.ts";
import { signalExitCode } from "./_signals.ts";
import {
  checkExit,
  denoSpawner,
  DeviceError,
  type DeviceInfo,
  type ExecOptions,
  type ExecResult,
  type PushResult,
  quote,
  sha256Hex,
  type SpawnedProcess,
  type Spawner,
  type Transport,
} from "./transport.ts";

const DEFAULT_TIMEOUT_MS = 60_000;

/** Reads a whole stream into one array; an abort stops reading and keeps what arrived. */
async function readAll(stream: ReadableStream<Uint8Array>, signal: AbortSignal): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let length = 0;
  const reader = stream.getReader();
  const stop = () => void reader.cancel().catch(() => {});
  signal.addEventListener("abort", stop);
  try {
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      chunks.push(r.value);
      length += r.value.length;
    }
  } catch {
    // cancelled
  } finally {
    signal.removeEventListener("abort", stop);
  }
  const out = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/** Describes a file-system error briefly: "No such file or directory" rather than a stack. */
function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The host as a device.
 *
 * @example
 * ```ts ignore
 * const t = new LocalTransport({ baseDir: "/tmp/int8" });
 * await t.push(new TextEncoder().encode("hi"), "a/b.txt"); // /tmp/int8/a/b.txt, SHA-256 read back
 * const r = await t.exec(["cat", "a/b.txt"]);
 * await t.close();
 * ```
 */
export class LocalTransport implements Transport {
  readonly url: string;
  readonly #baseDir: string | null;
  readonly #spawner: Spawner;
  readonly #running = new Set<SpawnedProcess>();
  #info: DeviceInfo | null = null;

  constructor(options: { baseDir?: string; spawner?: Spawner } = {}) {
    this.#baseDir = options.baseDir ?? null;
    this.#spawner = options.spawner ?? denoSpawner;
    this.url = `local://${this.#baseDir ?? ""}`;
  }

  /** A device path: relative ones live under the base directory (or the current one). */
  #path(path: string): string {
    return isAbsolute(path) || this.#baseDir === null ? path : join(this.#baseDir, path);
  }

  async connect(): Promise<void> {
    if (this.#baseDir !== null) await Deno.mkdir(this.#baseDir, { recursive: true });
  }

  async push(
    data: Uint8Array | { path: string },
    remote: string,
    options: { mode?: number } = {},
  ): Promise<PushResult> {
    const started = performance.now();
    const bytes = data instanceof Uint8Array ? data : await Deno.readFile(data.path);
    const target = this.#path(remote);
    const expected = await sha256Hex(bytes);
    const temporary = join(dirname(target), `.${crypto.randomUUID()}.part`);
    try {
      await Deno.mkdir(dirname(target), { recursive: true });
      await Deno.writeFile(temporary, bytes, { mode: options.mode ?? 0o644 });
      if (options.mode !== undefined) await Deno.chmod(temporary, options.mode); // the umask may have masked it
      const actual = await sha256Hex(await Deno.readFile(temporary));
      if (actual !== expected) {
        throw new DeviceError(
          "verify",
          `${this.url}: ${target} differs after writing it: SHA-256 ${actual} on the device, ${expected} sent`,
        );
      }
      await Deno.rename(temporary, target);
    } catch (error) {
      await Deno.remove(temporary).catch(() => {});
      if (error instanceof DeviceError) throw error;
      throw new DeviceError("exit", `${this.url}: cannot write ${target}: ${describe(error)}`, { cause: error });
    }
    return { remote: target, bytes: bytes.length, sha256: expected, ms: performance.now() - started };
  }

  async pull(remote: string): Promise<Uint8Array> {
    const path = this.#path(remote);
    try {
      return await Deno.readFile(path);
    } catch (error) {
      throw new DeviceError("exit", `${this.url}: cannot read ${path}: ${describe(error)}`, { cause: error });
    }
  }

  async exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const [command, ...args] = argv;
    if (command === undefined) throw new DeviceError("exit", `${this.url}: exec needs a command`);
    const cwd = options.cwd === undefined ? this.#baseDir : this.#path(options.cwd);
    let child: SpawnedProcess;
    try {
      child = this.#spawner(command, args, {
        ...(cwd === null ? {} : { cwd }),
        ...(options.env === undefined ? {} : { env: options.env }),
      });
    } catch (error) {
      const notFound = error instanceof Deno.errors.NotFound;
      throw new DeviceError(
        "exit",
        `${this.url}: cannot run \`${command}\`: ${notFound ? "no such command or directory" : describe(error)}`,
        { code: notFound ? 127 : null, cause: error },
      );
    }
    this.#running.add(child);
    await child.stdin.close().catch(() => {});
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    let timedOut = false;
    let grace: ReturnType<typeof setTimeout> | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      this.#kill(child);
    }, timeoutMs);
    // Once a killed command is gone, stop waiting for output a stray grandchild may hold open.
    const streamsDone = new AbortController();
    const output = Promise.all([readAll(child.stdout, streamsDone.signal), readAll(child.stderr, streamsDone.signal)]);
    try {
      const status = await child.status;
      if (timedOut) grace = setTimeout(() => streamsDone.abort(), 1000);
      const [stdout, stderr] = await output;
      const code = status.signal === null ? status.code : signalExitCode(status.signal);
      if (timedOut) {
        const decoder = new TextDecoder();
        throw new DeviceError(
          "timeout",
          `${this.url}: \`${argv.map(quote).join(" ")}\` ran past its ${timeoutMs} ms timeout and was killed`,
          { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) },
        );
      }
      const result = { stdout, stderr, code };
      return options.check === false ? result : checkExit(this.url, argv, result);
    } finally {
      clearTimeout(timer);
      clearTimeout(grace);
      streamsDone.abort();
      this.#running.delete(child);
    }
  }

  /** Ends a process and everything it started. */
  #kill(child: SpawnedProcess): void {
    killDescendants(child.pid);
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }

  async info(): Promise<DeviceInfo> {
    if (this.#info === null) {
      const r = await this.exec(["sh", "-c", INFO_SCRIPT], { timeoutMs: 10_000 });
      this.#info = parseInfo(new TextDecoder().decode(r.stdout));
    }
    return this.#info;
  }

  close(): Promise<void> {
    for (const child of this.#running) this.#kill(child);
    return Promise.resolve();
  }
}

/**
 * `local://` opener for devices/mod.ts: `local://` or `local:///base/dir`.
 *
 * @example
 * ```ts ignore
 * const t = openLocal(new URL("local:///tmp/int8"), {});
 * ```
 */
export function openLocal(url: URL, options: { spawner?: Spawner }): Transport {
  if (url.host !== "") {
    throw new DeviceError("url", `local:// takes no host ("${url.href}"); write local:///base/dir or local://`);
  }
  const base = decodeURIComponent(url.pathname);
  return new LocalTransport({
    ...(base === "" || base === "/" ? {} : { baseDir: base }),
    ...(options.spawner === undefined ? {} : { spawner: options.spawner }),
  });
}
