/**
 * `ssh://user@host[:port][/base-dir]`: a Linux board over SSH (npm:ssh2; no
 * `ssh`/`scp` processes). One connection and one SFTP session per
 * transport. The host key is checked against known_hosts before anything
 * else; pushed files are written to a temporary name, their SHA-256 computed
 * on the device (`sha256sum`, else `openssl dgst`, else `busybox sha256sum`)
 * and only then renamed into place. Commands run as
 * `sh -c 'echo $$ && … && exec ARGV'`, so the transport knows the remote
 * PID and can kill a command that outlives its timeout.
 *
 * Relative device paths (and the default working directory of commands) are
 * under base-dir when the URL has one, else the login directory.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { join, posix } from "node:path";
import { INFO_SCRIPT, parseInfo } from "./_info.ts";
import {
  checkHostKey,
  describeKey,
  entriesFor,
  hostKeyAlgorithms,
  keyBlobType,
  type KnownHostEntry,
  knownHostsLine,
  knownHostsName,
  parseKnownHosts,
} from "./_known_hosts.ts";
import { signalExitCode } from "./_signals.ts";
import {
  newSsh2Client,
  parsePrivateKey,
  type Ssh2Auth,
  type Ssh2Channel,
  type Ssh2Client,
  type Ssh2Error,
  type Ssh2Sftp,
  type Ssh2Stats,
} from "./_ssh2.ts";
import {
  checkExit,
  DeviceError,
  type DeviceInfo,
  type ExecOptions,
  type ExecResult,
  type PushResult,
  quote,
  sha256Hex,
  shellCommand,
  type Transport,
} from "./transport.ts";

/** Options of {@link SshTransport} (the ssh subset of devices/mod.ts's OpenOptions). */
export interface SshOptions {
  /** Accept and record a host key that known_hosts does not list (never a changed one). */
  trustHostKey?: boolean;
  /** Private key file; default: the agent, then ~/.ssh/id_ed25519, ~/.ssh/id_rsa. */
  identity?: string;
  /** Default ~/.ssh/known_hosts. */
  knownHosts?: string;
  /** Default 10 s. */
  connectTimeoutMs?: number;
}

/** Where to connect, from the URL. */
export interface SshTarget {
  user: string;
  host: string;
  port: number;
  /** Absolute directory for relative paths, or null. */
  baseDir: string | null;
}

const DEFAULT_TIMEOUT_MS = 60_000;
/** SFTP transfers: 32 KiB requests, 64 in flight (ssh2's fastPut/fastGet defaults). */
const CHUNK = 32 * 1024;
const WINDOW = 64;
/** How long a KILL signal sent over the channel gets before the PID is killed over a second channel. */
const SIGNAL_GRACE_MS = 100;

/**
 * Hashes one file on the device with whatever tool it has; prints the hex digest somewhere in its output.
 * `$1` is the file.
 */
const SHA256_SCRIPT = [
  'if command -v sha256sum >/dev/null 2>&1; then exec sha256sum -- "$1"',
  'elif command -v openssl >/dev/null 2>&1; then exec openssl dgst -sha256 -r "$1"',
  'elif command -v busybox >/dev/null 2>&1; then exec busybox sha256sum "$1"',
  'else echo "no sha256sum, openssl or busybox on the device" >&2; exit 127; fi',
].join("; ");

const FLAG = "--trust-host-key";

/** Promise wrapper for ssh2's (error, value) callbacks. */
function call<T = void>(start: (cb: (error: Error | null | undefined, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    try {
      start((error, value) => (error ? reject(error) : resolve(value)));
    } catch (error) {
      reject(error);
    }
  });
}

/** SFTP status 2 (no such file) and 4 (failure), as numbers on the error. */
function sftpCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown })?.code;
  return typeof code === "number" ? code : undefined;
}

/** "ed25519", "rsa" or "ecdsa": how sshd names its host key files. */
function hostKeyFileKind(blob: Uint8Array): string {
  const type = keyBlobType(blob) ?? "";
  return type.startsWith("ecdsa") ? "ecdsa" : type.replace(/^ssh-/, "");
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Parses `ssh://user@host[:port][/base-dir]` (user defaults to $USER).
 *
 * @example
 * ```ts
 * import { parseSshUrl } from "./ssh.ts";
 * parseSshUrl(new URL("ssh://pi@board:2222/tmp/int8")); // { user: "pi", host: "board", port: 2222, baseDir: "/tmp/int8" }
 * ```
 */
export function parseSshUrl(url: URL): SshTarget {
  if (url.password !== "") {
    throw new DeviceError(
      "url",
      `ssh://${url.host}: passwords in device URLs are not supported; use a key or the agent`,
    );
  }
  const user = decodeURIComponent(url.username) || Deno.env.get("USER") || Deno.env.get("LOGNAME") || "";
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  if (host === "") throw new DeviceError("url", `"${url.href}" names no host: expected ssh://user@host[:port][/dir]`);
  if (user === "") {
    throw new DeviceError("url", `"${url.href}" names no user and $USER is unset: write ssh://user@host`);
  }
  const path = decodeURIComponent(url.pathname).replace(/\/+$/, "");
  return { user, host, port: url.port === "" ? 22 : Number(url.port), baseDir: path === "" ? null : path };
}

/**
 * A Linux device over SSH.
 *
 * @example
 * ```ts ignore
 * const t = new SshTransport({ user: "pi", host: "board", port: 22, baseDir: "/tmp/int8" }, { trustHostKey: false });
 * await t.connect();
 * await t.push(model, "model.onnx");
 * console.log(new TextDecoder().decode((await t.exec(["uname", "-m"])).stdout));
 * await t.close();
 * ```
 */
export class SshTransport implements Transport {
  readonly url: string;
  readonly #target: SshTarget;
  readonly #options: SshOptions;
  #client: Ssh2Client | null = null;
  #sftp: Ssh2Sftp | null = null;
  /** Set when the connection went away without close(): every later call fails with it. */
  #lost: DeviceError | null = null;
  /** The last error ssh2 reported after connecting (ECONNRESET …), for the disconnect message. */
  #lastError: string | null = null;
  #closing = false;
  #closed: Promise<void> | null = null;
  #connecting: Promise<void> | null = null;
  readonly #lostWaiters = new Set<(error: DeviceError) => void>();
  /** Commands running now, with their remote PIDs once known: close() kills them. */
  readonly #running = new Map<Ssh2Channel, number | null>();
  readonly #dirs = new Set<string>();
  #info: DeviceInfo | null = null;

  constructor(target: SshTarget, options: SshOptions = {}) {
    this.#target = target;
    this.#options = options;
    const host = target.host.includes(":") ? `[${target.host}]` : target.host;
    this.url = `ssh://${target.user}@${host}${target.port === 22 ? "" : `:${target.port}`}${target.baseDir ?? ""}`;
  }

  /** A device path: relative ones live under the base directory. */
  #path(path: string): string {
    return path.startsWith("/") || this.#target.baseDir === null ? path : posix.join(this.#target.baseDir, path);
  }

  // --- connecting ---------------------------------------------------------------------------------------------

  connect(): Promise<void> {
    if (this.#sftp !== null) return Promise.resolve();
    this.#connecting ??= this.#connect().finally(() => (this.#connecting = null));
    return this.#connecting;
  }

  async #connect(): Promise<void> {
    // A new connection after a lost or closed one starts clean.
    this.#lost = null;
    this.#lastError = null;
    this.#closing = false;
    this.#closed = null;
    this.#dirs.clear();
    this.#info = null;
    const { host, port, user } = this.#target;
    const home = Deno.env.get("HOME") ?? "";
    const knownHostsPath = this.#options.knownHosts ?? join(home, ".ssh", "known_hosts");
    const entries = parseKnownHosts(await Deno.readTextFile(knownHostsPath).catch(() => ""));
    const auths = await this.#authAttempts(home);
    const timeoutMs = this.#options.connectTimeoutMs ?? 10_000;

    let hostKeyError: DeviceError | null = null;
    let keyToRecord: Uint8Array | null = null;
    const client = newSsh2Client();
    this.#client = client;
    let ready = false;
    try {
      await new Promise<void>((resolve, reject) => {
        client.on("ready", () => {
          ready = true;
          resolve();
        });
        client.on("error", (error) => {
          if (ready) this.#lastError = message(error);
          else reject(hostKeyError ?? this.#connectError(error, auths, timeoutMs));
        });
        client.on("close", () => {
          if (!ready) {
            reject(
              hostKeyError ?? new DeviceError("unreachable", `${this.url}: the connection closed during the handshake`),
            );
          }
          this.#onClose(client);
        });
        let remaining = [...auths];
        client.connect({
          host,
          port,
          username: user,
          readyTimeout: timeoutMs,
          keepaliveInterval: 5_000,
          keepaliveCountMax: 3,
          algorithms: { serverHostKey: hostKeyAlgorithms(entriesFor(entries, host, port).map((e) => e.keyType)) },
          hostVerifier: (blob) => {
            const verdict = this.#verifyHostKey(entries, knownHostsPath, new Uint8Array(blob));
            if (verdict instanceof DeviceError) hostKeyError = verdict;
            else if (verdict === "record") keyToRecord = new Uint8Array(blob);
            return !(verdict instanceof DeviceError);
          },
          authHandler: () => {
            const next = remaining[0];
            remaining = remaining.slice(1);
            return next?.auth ?? false;
          },
        });
        // Many small request/reply packets: with Nagle and the peer's delayed ACK each exec took ~90 ms.
        client.setNoDelay(true);
      });
      if (keyToRecord !== null) await this.#recordHostKey(knownHostsPath, keyToRecord);
      this.#sftp = await call<Ssh2Sftp>((cb) => client.sftp(cb));
      if (this.#target.baseDir !== null) await this.#mkdirs(this.#target.baseDir);
    } catch (error) {
      this.#client = null;
      this.#sftp = null;
      client.destroy();
      if (error instanceof DeviceError) throw error;
      throw new DeviceError("protocol", `${this.url}: could not open the SFTP session: ${message(error)}`, {
        cause: error,
      });
    }
  }

  /** What known_hosts says about the presented key: accept, accept and record, or a `host-key` error. */
  #verifyHostKey(entries: KnownHostEntry[], file: string, blob: Uint8Array): "ok" | "record" | DeviceError {
    const { host, port } = this.#target;
    const name = knownHostsName(host, port);
    const verdict = checkHostKey(entries, host, port, blob);
    switch (verdict.status) {
      case "known":
        return "ok";
      case "revoked":
        return new DeviceError(
          "host-key",
          `${this.url}: the host key of ${name} (${describeKey(blob)}) is marked @revoked in ${file} ` +
            `line ${verdict.entry.line}; refusing to connect`,
        );
      case "changed":
        return new DeviceError(
          "host-key",
          `${this.url}: WARNING: the host key of ${name} has CHANGED. It is now ${describeKey(blob)}, but ` +
            `${file} line ${verdict.entries.map((e) => e.line).join(", ")} holds a different key. Someone may be ` +
            `intercepting the connection, or the device was reinstalled. Refusing to connect, also with ${FLAG}; if ` +
            `the change is expected, remove the old entry (ssh-keygen -R '${name}' -f ${file}) and connect again ` +
            `with ${FLAG}.`,
        );
      case "unknown":
        if (this.#options.trustHostKey) return "record";
        return new DeviceError(
          "host-key",
          `${this.url}: unknown host key for ${name}: ${describeKey(blob)} is not in ${file}. Check that ` +
            `fingerprint on the device (ssh-keygen -lf /etc/ssh/ssh_host_${hostKeyFileKind(blob)}_key.pub), then ` +
            `pass ${FLAG} to accept it and record it in ${file}.`,
        );
    }
  }

  async #recordHostKey(file: string, blob: Uint8Array): Promise<void> {
    const { host, port } = this.#target;
    const existing = await Deno.readTextFile(file).catch(() => "");
    const separator = existing === "" || existing.endsWith("\n") ? "" : "\n";
    await Deno.mkdir(posix.dirname(file), { recursive: true, mode: 0o700 });
    await Deno.writeTextFile(file, `${separator}${knownHostsLine(host, port, blob)}\n`, { append: true, mode: 0o600 });
  }

  /** The keys to offer, in order: the identity option, the agent, then ~/.ssh/id_ed25519 and id_rsa. */
  async #authAttempts(home: string): Promise<{ label: string; auth: Ssh2Auth }[]> {
    const username = this.#target.user;
    const attempts: { label: string; auth: Ssh2Auth }[] = [];
    const addKey = async (path: string, required: boolean) => {
      let data: Uint8Array;
      try {
        data = await Deno.readFile(path);
      } catch (error) {
        if (!required) return;
        throw new DeviceError("auth", `${this.url}: cannot read identity ${path}: ${message(error)}`);
      }
      const parsed = parsePrivateKey(data);
      if (parsed instanceof Error || !parsed.isPrivateKey()) {
        if (!required) return;
        const why = parsed instanceof Error ? parsed.message : "it holds no private key";
        throw new DeviceError(
          "auth",
          `${this.url}: cannot use identity ${path}: ${why} (a passphrase-protected key must be loaded into ssh-agent)`,
        );
      }
      attempts.push({ label: `key ${path}`, auth: { type: "publickey", username, key: Buffer.from(data) } });
    };
    if (this.#options.identity !== undefined) await addKey(this.#options.identity, true);
    const agent = Deno.env.get("SSH_AUTH_SOCK");
    if (agent) attempts.push({ label: `agent ${agent}`, auth: { type: "agent", username, agent } });
    if (this.#options.identity === undefined) {
      await addKey(join(home, ".ssh", "id_ed25519"), false);
      await addKey(join(home, ".ssh", "id_rsa"), false);
    }
    return attempts;
  }

  /** ssh2's connect-time error → DeviceError. */
  #connectError(error: Ssh2Error, auths: { label: string }[], timeoutMs: number): DeviceError {
    const { host, port, user } = this.#target;
    const at = `${host}:${port}`;
    const unreachable = (why: string) => new DeviceError("unreachable", `${this.url}: ${why}`, { cause: error });
    switch (error.code) {
      case "ECONNREFUSED":
        return unreachable(`connection refused by ${at} (no SSH server listening on that port?)`);
      case "EHOSTUNREACH":
      case "ENETUNREACH":
        return unreachable(`no route to ${at}`);
      case "ENOTFOUND":
      case "EAI_AGAIN":
        return unreachable(`cannot resolve host ${host}`);
      case "ETIMEDOUT":
        return unreachable(`no answer from ${at}`);
    }
    if (error.level === "client-timeout") return unreachable(`no SSH handshake with ${at} within ${timeoutMs} ms`);
    if (error.level === "client-dns") return unreachable(`cannot resolve host ${host}`);
    if (error.level === "client-socket") return unreachable(`cannot connect to ${at}: ${error.message}`);
    if (error.level === "client-authentication") {
      const offered = auths.length === 0
        ? "no key to offer: pass an identity file, start ssh-agent (SSH_AUTH_SOCK) or create ~/.ssh/id_ed25519"
        : `offered ${auths.map((a) => a.label).join(", ")}; is the public key in the device's authorized_keys?`;
      return new DeviceError("auth", `${this.url}: authentication as ${user} failed: ${offered}`, { cause: error });
    }
    return new DeviceError("protocol", `${this.url}: SSH handshake failed: ${error.message}`, { cause: error });
  }

  /** The connection went away: unless close() asked for it, fail everything in flight. */
  #onClose(client: Ssh2Client): void {
    if (client !== this.#client) return; // an earlier connection
    const wasOpen = this.#sftp !== null;
    this.#client = null;
    this.#sftp = null;
    if (this.#closing || !wasOpen) return;
    this.#lost = new DeviceError(
      "disconnected",
      `${this.url}: the connection was lost${this.#lastError ? ` (${this.#lastError})` : ""}`,
    );
    for (const fail of this.#lostWaiters) fail(this.#lost);
  }

  /**
   * Runs one operation on the live connection; if the connection drops meanwhile it fails with
   * `disconnected` (naming the operation), whatever state the operation was in.
   */
  async #guard<T>(what: () => string, run: (client: Ssh2Client, sftp: Ssh2Sftp) => Promise<T>): Promise<T> {
    const disconnected = (cause: unknown) =>
      new DeviceError(
        "disconnected",
        `${this.url}: the connection was lost during ${what()}` +
          `${this.#lastError ? ` (${this.#lastError})` : ""}; it did not complete`,
        { cause },
      );
    if (this.#lost) throw disconnected(this.#lost);
    if (this.#client === null || this.#sftp === null) {
      throw new DeviceError("protocol", `${this.url}: not connected (call connect() before ${what()})`);
    }
    let fail!: (error: DeviceError) => void;
    const lost = new Promise<never>((_, reject) => (fail = reject));
    this.#lostWaiters.add(fail);
    const work = run(this.#client, this.#sftp);
    work.catch(() => {}); // its outcome is read through the race below
    try {
      return await Promise.race([work, lost]);
    } catch (error) {
      if (this.#lost) throw disconnected(error);
      if (error instanceof DeviceError) throw error;
      throw new DeviceError("protocol", `${this.url}: ${what()} failed: ${message(error)}`, { cause: error });
    } finally {
      this.#lostWaiters.delete(fail);
    }
  }

  // --- files --------------------------------------------------------------------------------------------------

  /** mkdir -p over SFTP (directories made once are remembered). */
  async #mkdirs(dir: string): Promise<void> {
    if (dir === "/" || dir === "." || dir === "" || this.#dirs.has(dir)) return;
    const sftp = this.#sftp!;
    const stats = await call<Ssh2Stats>((cb) => sftp.stat(dir, cb)).catch(() => null);
    if (stats === null) {
      await this.#mkdirs(posix.dirname(dir));
      await call((cb) => sftp.mkdir(dir, cb)).catch(async (error) => {
        // Lost a race with another mkdir, or a real failure (permissions): stat tells which.
        const again = await call<Ssh2Stats>((cb) => sftp.stat(dir, cb)).catch(() => null);
        if (again === null) {
          throw new DeviceError("exit", `${this.url}: cannot create directory ${dir}: ${message(error)}`, {
            cause: error,
          });
        }
      });
    }
    this.#dirs.add(dir);
  }

  /** Writes bytes to a new device file, WINDOW requests in flight. */
  async #writeFile(path: string, bytes: Uint8Array, mode: number, progress: (n: number) => void): Promise<void> {
    const sftp = this.#sftp!;
    const handle = await call<Buffer>((cb) => sftp.open(path, "w", { mode }, cb));
    const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    try {
      await new Promise<void>((resolve, reject) => {
        let next = 0;
        let inFlight = 0;
        let failed = false;
        const pump = () => {
          while (!failed && inFlight < WINDOW && next < buffer.length) {
            const offset = next;
            const length = Math.min(CHUNK, buffer.length - offset);
            next += length;
            inFlight++;
            sftp.write(handle, buffer, offset, length, offset, (error) => {
              inFlight--;
              if (failed) return;
              if (error) {
                failed = true;
                reject(error);
                return;
              }
              progress(length);
              if (next >= buffer.length && inFlight === 0) resolve();
              else pump();
            });
          }
        };
        if (buffer.length === 0) resolve();
        else pump();
      });
      await call((cb) => sftp.fchmod(handle, mode, cb)); // open's mode went through the server's umask
    } finally {
      await call((cb) => sftp.close(handle, cb)).catch(() => {});
    }
  }

  /** Reads a whole device file, WINDOW requests in flight. */
  async #readFile(path: string): Promise<Uint8Array> {
    const sftp = this.#sftp!;
    const handle = await call<Buffer>((cb) => sftp.open(path, "r", {}, cb));
    try {
      const size = (await call<{ size: number }>((cb) => sftp.fstat(handle, cb))).size;
      const out = Buffer.alloc(size);
      await new Promise<void>((resolve, reject) => {
        let next = 0;
        let inFlight = 0;
        let failed = false;
        const request = (offset: number, length: number) => {
          inFlight++;
          sftp.read(handle, out, offset, length, offset, (error, got) => {
            inFlight--;
            if (failed) return;
            if (error || got === 0) {
              failed = true;
              reject(error ?? new Error(`the file shrank while being read (EOF at ${offset} of ${size} bytes)`));
              return;
            }
            if (got < length) request(offset + got, length - got); // a short read: ask for the rest
            pump();
          });
        };
        const pump = () => {
          while (!failed && inFlight < WINDOW && next < size) {
            const length = Math.min(CHUNK, size - next);
            request(next, length);
            next += length;
          }
          if (!failed && next >= size && inFlight === 0) resolve();
        };
        pump();
      });
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    } finally {
      await call((cb) => sftp.close(handle, cb)).catch(() => {});
    }
  }

  /** The SHA-256 of a device file, computed on the device. */
  async #remoteSha256(path: string): Promise<string> {
    const r = await this.exec(["sh", "-c", SHA256_SCRIPT, "sh", path], { timeoutMs: 120_000, check: false });
    const stdout = new TextDecoder().decode(r.stdout);
    const digest = /\b[0-9a-f]{64}\b/i.exec(stdout)?.[0]?.toLowerCase();
    if (r.code !== 0 || digest === undefined) {
      const stderr = new TextDecoder().decode(r.stderr).trim();
      throw new DeviceError(
        "verify",
        `${this.url}: cannot verify ${path}: hashing it on the device exited with ${r.code}` +
          `${stderr ? `: ${stderr}` : ` and printed ${JSON.stringify(stdout.slice(0, 200))}`}`,
        { code: r.code, stdout, stderr },
      );
    }
    return digest;
  }

  async #rename(from: string, to: string): Promise<void> {
    const sftp = this.#sftp!;
    try {
      await call((cb) => sftp.ext_openssh_rename(from, to, cb)); // atomic replace (posix-rename@openssh.com)
    } catch (error) {
      if (!/not support/i.test(message(error))) throw error;
      await call((cb) => sftp.unlink(to, cb)).catch(() => {});
      await call((cb) => sftp.rename(from, to, cb));
    }
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
    let sent = 0;
    const what = () => `the push of ${target} (${sent} of ${bytes.length} bytes sent)`;
    return await this.#guard(what, async (_client, sftp) => {
      const dir = posix.dirname(target);
      await this.#mkdirs(dir);
      const temporary = posix.join(dir, `.${posix.basename(target)}.${crypto.randomUUID().slice(0, 8)}.part`);
      try {
        await this.#writeFile(temporary, bytes, options.mode ?? 0o644, (n) => (sent += n));
        const actual = await this.#remoteSha256(temporary);
        if (actual !== expected) {
          throw new DeviceError(
            "verify",
            `${this.url}: ${target} arrived corrupted: SHA-256 on the device ${actual}, sent ${expected} ` +
              `(${bytes.length} bytes); the copy was deleted`,
          );
        }
        await this.#rename(temporary, target);
      } catch (error) {
        if (!this.#lost) await call((cb) => sftp.unlink(temporary, cb)).catch(() => {});
        if (error instanceof DeviceError || this.#lost) throw error;
        throw new DeviceError("exit", `${this.url}: cannot write ${target}: ${message(error)}`, { cause: error });
      }
      return { remote: target, bytes: bytes.length, sha256: expected, ms: performance.now() - started };
    });
  }

  async pull(remote: string): Promise<Uint8Array> {
    const path = this.#path(remote);
    return await this.#guard(() => `the pull of ${path}`, async () => {
      try {
        return await this.#readFile(path);
      } catch (error) {
        if (this.#lost) throw error;
        const why = sftpCode(error) === 2 ? "no such file" : message(error);
        throw new DeviceError("exit", `${this.url}: cannot read ${path}: ${why}`, { cause: error });
      }
    });
  }

  // --- commands -----------------------------------------------------------------------------------------------

  /** `sh -c 'echo $$ && cd DIR && export K=V && exec ARGV'`: the first stdout line is the command's PID. */
  #wrap(argv: readonly string[], options: ExecOptions): string {
    const steps = ["echo $$"];
    const cwd = options.cwd === undefined ? this.#target.baseDir : this.#path(options.cwd);
    if (cwd !== null) steps.push(`cd ${quote(cwd)}`);
    for (const [name, value] of Object.entries(options.env ?? {})) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new RangeError(`Cannot set environment variable "${name}"`);
      steps.push(`export ${name}=${quote(value)}`);
    }
    steps.push(`exec ${shellCommand(argv)}`);
    return shellCommand(["sh", "-c", steps.join(" && ")]);
  }

  async exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    if (argv.length === 0) throw new DeviceError("exit", `${this.url}: exec needs a command`);
    const shown = `\`${argv.map(quote).join(" ")}\``;
    const command = this.#wrap(argv, options);
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const result = await this.#guard(() => shown, async (client) => {
      const channel = await call<Ssh2Channel>((cb) => client.exec(command, cb));
      this.#running.set(channel, null);
      try {
        return await this.#collect(channel, shown, timeoutMs);
      } finally {
        this.#running.delete(channel);
      }
    });
    return options.check === false ? result : checkExit(this.url, argv, result);
  }

  /** Reads a command's PID line, output and exit status; kills it at the timeout. */
  #collect(channel: Ssh2Channel, shown: string, timeoutMs: number): Promise<ExecResult> {
    return new Promise<ExecResult>((resolve, reject) => {
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let head = Buffer.alloc(0);
      let pid: number | null = null;
      let status: { code: number | null; signal?: string | undefined } | null = null;
      let timedOut = false;
      let markClosed!: () => void;
      const closed = new Promise<void>((resolve) => (markClosed = resolve));
      const waitClosed = (ms: number) =>
        new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), ms);
          void closed.then(() => {
            clearTimeout(timer);
            resolve(true);
          });
        });
      const text = (chunks: Buffer[]) => Buffer.concat(chunks).toString("utf8");
      channel.on("data", (chunk) => {
        if (pid !== null) return void stdout.push(chunk);
        head = Buffer.concat([head, chunk]);
        const newline = head.indexOf(10);
        if (newline < 0) return;
        pid = Number(head.subarray(0, newline).toString()) || -1;
        this.#running.set(channel, pid);
        stdout.push(head.subarray(newline + 1));
      });
      channel.stderr.on("data", (chunk) => void stderr.push(chunk));
      channel.on("exit", (code, signal) => void (status = { code, signal }));
      channel.on("error", () => {}); // surfaces as a close without status
      const timer = setTimeout(() => {
        timedOut = true;
        void this.#kill(channel, () => (pid !== null && pid > 0 ? pid : null), waitClosed).then((killed) => {
          channel.close();
          reject(
            new DeviceError(
              "timeout",
              `${this.url}: ${shown} ran past its ${timeoutMs} ms timeout and was killed` +
                `${killed ? ` (remote PID ${killed})` : ""}`,
              { code: null, stdout: text(stdout), stderr: text(stderr) },
            ),
          );
        });
      }, timeoutMs);
      // ssh2 emits "exit" only while the stream is still readable; when the EOF came first, the exit
      // status arrives as the arguments of "close" instead (seen: fast failing commands, ~1 in 3).
      channel.on("close", (lateCode?: number | null, lateSignal?: string) => {
        if (status === null && (typeof lateCode === "number" || lateSignal)) {
          status = { code: lateCode ?? null, signal: lateSignal };
        }
        markClosed();
        clearTimeout(timer);
        if (timedOut) return;
        if (pid === null && head.length > 0) stdout.push(head); // `sh` itself failed before its first line
        if (status === null) {
          reject(
            new DeviceError(
              this.#lost || this.#client === null ? "disconnected" : "protocol",
              `${this.url}: ${shown} ended without an exit status (the session closed)`,
              { stdout: text(stdout), stderr: text(stderr) },
            ),
          );
          return;
        }
        const code = status.code ?? signalExitCode(status.signal ?? "");
        resolve({ stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr), code });
      });
      channel.end(); // EOF on stdin: commands that read it see an empty input
    });
  }

  /**
   * Ends a timed-out command: KILL over the channel (sshd signals the session's process group, where it
   * supports that: OpenSSH 9.2 refuses for root logins), then, if the channel stays open, `kill -9` of its
   * process group and PID over a second channel, and waits until sshd reports it ended. Returns the PID when
   * it was known.
   */
  async #kill(
    channel: Ssh2Channel,
    pid: () => number | null,
    waitClosed: (ms: number) => Promise<boolean>,
  ): Promise<number | null> {
    // ssh2's channel.signal() refuses once stdin has been closed (EOF sent), which sshd still accepts.
    const protocol = (channel as unknown as { _client?: { _protocol?: { signal(id: number, s: string): void } } })
      ._client?._protocol;
    try {
      if (channel.outgoing.state === "open" || channel.outgoing.state === "eof") {
        protocol?.signal(channel.outgoing.id, "KILL");
      }
    } catch {
      // the second channel below still kills it
    }
    const known = pid();
    if (await waitClosed(SIGNAL_GRACE_MS)) return known;
    if (known !== null && this.#client !== null) {
      await this.#killPid(known).catch(() => {});
      await waitClosed(5_000);
    }
    return known;
  }

  /** `kill -9` of a remote process group and PID, over a channel of its own. */
  async #killPid(pid: number): Promise<void> {
    const client = this.#client!;
    const script = `kill -9 -${pid} ${pid} 2>/dev/null; true`;
    const channel = await call<Ssh2Channel>((cb) => client.exec(shellCommand(["sh", "-c", script]), cb));
    await new Promise<void>((resolve) => {
      channel.on("close", () => resolve());
      channel.on("data", () => {});
      channel.stderr.on("data", () => {});
      channel.end();
    });
  }

  // --- the rest -----------------------------------------------------------------------------------------------

  async info(): Promise<DeviceInfo> {
    if (this.#info === null) {
      const r = await this.exec(["sh", "-c", INFO_SCRIPT], { timeoutMs: 20_000 });
      this.#info = parseInfo(new TextDecoder().decode(r.stdout));
    }
    return this.#info;
  }

  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #close(): Promise<void> {
    const client = this.#client;
    if (client === null) return;
    const pids = [...this.#running.values()].filter((p): p is number => p !== null && p > 0);
    await Promise.all(pids.map((pid) => this.#killPid(pid).catch(() => {})));
    this.#closing = true;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        client.destroy();
        resolve();
      }, 2_000);
      client.on("close", () => {
        clearTimeout(timer);
        resolve();
      });
      this.#sftp?.end();
      client.end();
    });
  }
}

/**
 * `ssh://` opener for devices/mod.ts.
 *
 * @example
 * ```ts ignore
 * const t = openSsh(new URL("ssh://pi@board:2222/tmp/int8"), { trustHostKey: false });
 * ```
 */
export function openSsh(url: URL, options: SshOptions): Transport {
  return new SshTransport(parseSshUrl(url), options);
}
