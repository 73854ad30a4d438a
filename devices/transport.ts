/**
 * The one interface every transport (local, ssh, adb, serial) implements, the
 * error they all throw, the process spawner they take (so tests can inject
 * one), and the one function that quotes shell arguments.
 *
 * A transport moves files to and from a device and runs commands there.
 * `push` always verifies what arrived by SHA-256 computed on the device side;
 * a mismatch is a {@link DeviceError} of kind `verify`, never a silent retry.
 *
 * @module
 */

/** What went wrong talking to a device; tests and the CLI branch on it. */
export type DeviceErrorKind =
  /** The device could not be reached (connection refused, no such port, no such serial). */
  | "unreachable"
  /** The host key is not in known_hosts (or differs from it) and the user did not pass the trust flag. */
  | "host-key"
  /** Authentication failed. */
  | "auth"
  /** The link went away in the middle of an operation. */
  | "disconnected"
  /** A pushed file's SHA-256 on the device differs from the local one. */
  | "verify"
  /** A command ran past its timeout and was killed. */
  | "timeout"
  /** A command exited non-zero (the error carries its stdout, stderr and exit code). */
  | "exit"
  /** The peer broke the transport's protocol (bad frame, retries exhausted, unexpected reply). */
  | "protocol"
  /** A device URL that cannot be parsed or names an unknown scheme. */
  | "url";

/**
 * The one error type of devices/: a message that names the device and the
 * operation, a kind, and — for failed commands — the command's output.
 *
 * @example
 * ```ts
 * import { DeviceError } from "./transport.ts";
 * const e = new DeviceError("exit", "ssh://pi@board: `./run` exited with 3: boom", { code: 3, stderr: "boom" });
 * e.kind; // "exit"
 * ```
 */
export class DeviceError extends Error {
  override name = "DeviceError";
  /** Exit code of the failed command, when there was one. */
  readonly code: number | null;
  /** Its stdout and stderr, decoded. */
  readonly stdout: string;
  readonly stderr: string;

  constructor(
    readonly kind: DeviceErrorKind,
    message: string,
    detail: { code?: number | null; stdout?: string; stderr?: string; cause?: unknown } = {},
  ) {
    super(message, detail.cause === undefined ? undefined : { cause: detail.cause });
    this.code = detail.code ?? null;
    this.stdout = detail.stdout ?? "";
    this.stderr = detail.stderr ?? "";
  }
}

/** What a command printed and how it ended. */
export interface ExecResult {
  stdout: Uint8Array;
  stderr: Uint8Array;
  /** Exit code (a signal-killed process reports 128 + signal number). */
  code: number;
}

/** How to run a command on the device. */
export interface ExecOptions {
  /** Kill the command after this long and throw a `timeout` DeviceError. Default: 60 s. */
  timeoutMs?: number;
  /** Working directory on the device. */
  cwd?: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Throw an `exit` DeviceError when the code is non-zero (default true). */
  check?: boolean;
}

/** What `push` verified. */
export interface PushResult {
  /** Path on the device. */
  remote: string;
  bytes: number;
  /** Lower-case hex SHA-256, equal on both sides. */
  sha256: string;
  /** Wall time of the transfer and the verification. */
  ms: number;
}

/** Facts about the device, gathered once after connecting (null when the device cannot tell). */
export interface DeviceInfo {
  /** e.g. "aarch64", "x86_64", "armv7l", "cortex-m3". */
  arch: string | null;
  cpuModel: string | null;
  cores: number | null;
  /** e.g. "Linux 6.1.0 (Debian 12)", "Android 14", "qm-fw/2". */
  os: string | null;
}

/**
 * A connection to one device. Open with `connect()`, end with `close()`;
 * every method throws {@link DeviceError} with a message naming the device.
 *
 * @example
 * ```ts ignore
 * const t = openTransport("ssh://pi@board");
 * await t.connect();
 * await t.push(modelBytes, "/tmp/int8/model.onnx");
 * const r = await t.exec(["/tmp/int8/runner", "--model", "/tmp/int8/model.onnx"], { timeoutMs: 30_000 });
 * const out = await t.pull("/tmp/int8/out.bin");
 * await t.close();
 * ```
 */
export interface Transport {
  /** The URL it was opened with, credentials removed: used in every message. */
  readonly url: string;
  connect(): Promise<void>;
  /** Writes bytes (or a local file) to a device path, creating parent directories, then verifies its SHA-256 there. */
  push(data: Uint8Array | { path: string }, remote: string, options?: { mode?: number }): Promise<PushResult>;
  /** Reads a device file. */
  pull(remote: string): Promise<Uint8Array>;
  /** Runs argv (each argument quoted with {@link quote} by shell-based transports). */
  exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** What the device is; cached after the first call. */
  info(): Promise<DeviceInfo>;
  /** Ends the connection and every process the transport started. Safe to call twice. */
  close(): Promise<void>;
}

/** A started process, as the transports need it: Deno.ChildProcess satisfies it. */
export interface SpawnedProcess {
  readonly pid: number;
  readonly stdin: WritableStream<Uint8Array>;
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  readonly status: Promise<{ code: number; signal: string | null }>;
  kill(signal?: Deno.Signal): void;
}

/** Starts a process; transports that run host programs (adb, stty, local) take one so tests can inject it. */
export type Spawner = (
  command: string,
  args: readonly string[],
  options?: { cwd?: string; env?: Record<string, string> },
) => SpawnedProcess;

/**
 * The real spawner: Deno.Command with every stream piped.
 *
 * @example
 * ```ts
 * import { denoSpawner } from "./transport.ts";
 * const p = denoSpawner("true", []);
 * await p.stdin.close();
 * (await p.status).code; // 0
 * ```
 */
export const denoSpawner: Spawner = (command, args, options = {}) =>
  new Deno.Command(command, {
    args: [...args],
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    ...(options.env === undefined ? {} : { env: options.env }),
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();

/**
 * Quotes one argument for a POSIX shell (the device's `sh -c`): safe words
 * stay as they are, everything else is single-quoted.
 *
 * @example
 * ```ts
 * import { quote } from "./transport.ts";
 * quote("a b'c"); // "'a b'\\''c'"
 * quote("/tmp/x.onnx"); // "/tmp/x.onnx"
 * ```
 */
export function quote(arg: string): string {
  if (arg !== "" && /^[A-Za-z0-9_\-.,/:=@%+]+$/.test(arg)) return arg;
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/**
 * A command line for `sh -c`: every argument quoted, optional cwd and env.
 *
 * @example
 * ```ts
 * import { shellCommand } from "./transport.ts";
 * shellCommand(["ls", "-l", "my dir"], { cwd: "/tmp" }); // "cd /tmp && ls -l 'my dir'"
 * ```
 */
export function shellCommand(argv: readonly string[], options: Pick<ExecOptions, "cwd" | "env"> = {}): string {
  const env = Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${quote(v)} `).join("");
  const cmd = env + argv.map(quote).join(" ");
  return options.cwd === undefined ? cmd : `cd ${quote(options.cwd)} && ${cmd}`;
}

/**
 * Lower-case hex SHA-256 of bytes.
 *
 * @example
 * ```ts
 * import { sha256Hex } from "./transport.ts";
 * (await sha256Hex(new Uint8Array())).slice(0, 8); // "e3b0c442"
 * ```
 */
export async function sha256Hex(data: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Throws the `exit` DeviceError for a non-zero result (stderr in the message), else returns it.
 *
 * @example
 * ```ts
 * import { checkExit } from "./transport.ts";
 * const ok = { stdout: new Uint8Array(), stderr: new Uint8Array(), code: 0 };
 * checkExit("local://", ["true"], ok).code; // 0
 * ```
 */
export function checkExit(url: string, argv: readonly string[], result: ExecResult): ExecResult {
  if (result.code === 0) return result;
  const stdout = new TextDecoder().decode(result.stdout);
  const stderr = new TextDecoder().decode(result.stderr);
  const tail = (stderr.trim() || stdout.trim()).split("\n").slice(-5).join("\n");
  throw new DeviceError(
    "exit",
    `${url}: \`${argv.map(quote).join(" ")}\` exited with ${result.code}${tail ? `: ${tail}` : ""}`,
    { code: result.code, stdout, stderr },
  );
}
