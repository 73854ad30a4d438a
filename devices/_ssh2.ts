/**
 * Types for the part of `npm:ssh2` that devices/ssh.ts uses (the package
 * ships none), and the typed entry points.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import * as ssh2 from "ssh2";

/** An error from ssh2: `level` says where it came from ("client-socket", "client-authentication", …). */
export interface Ssh2Error extends Error {
  level?: string;
  code?: string | number;
}

/** One authentication attempt handed to ssh2's authHandler. */
export type Ssh2Auth =
  | { type: "publickey"; username: string; key: Buffer | string }
  | { type: "agent"; username: string; agent: string };

/** The connect() options used here. */
export interface Ssh2ConnectConfig {
  host: string;
  port: number;
  username: string;
  readyTimeout: number;
  keepaliveInterval: number;
  keepaliveCountMax: number;
  /** Receives the raw host key blob; returning false aborts the handshake. */
  hostVerifier: (key: Buffer) => boolean;
  authHandler: (
    methodsLeft: string[] | null,
    partialSuccess: boolean | null,
    next: (a: Ssh2Auth | false) => void,
  ) => Ssh2Auth | false | undefined;
  algorithms: { serverHostKey: string[] };
}

/** A readable side of a channel (stdout, or its stderr). */
export interface Ssh2Readable {
  on(event: "data", listener: (chunk: Buffer) => void): this;
}

/** An exec session channel. */
export interface Ssh2Channel extends Ssh2Readable {
  readonly stderr: Ssh2Readable;
  /** Exit status: a code, or null and the signal name without "SIG". */
  on(event: "exit", listener: (code: number | null, signal?: string) => void): this;
  /** Carries the exit status when it arrived after the stream's end (then no "exit" is emitted). */
  on(event: "close", listener: (code?: number | null, signal?: string) => void): this;
  on(event: "data", listener: (chunk: Buffer) => void): this;
  on(event: "error", listener: (error: Error) => void): this;
  /** Sends EOF on stdin. */
  end(): void;
  close(): void;
  outgoing: { id: number; state: string };
}

/** File attributes as SFTP reports them. */
export interface Ssh2Stats {
  size: number;
  mode: number;
  isDirectory(): boolean;
}

type Callback<T = void> = (error: (Error & { code?: number }) | null | undefined, value: T) => void;

/** An SFTP session. */
export interface Ssh2Sftp {
  open(path: string, flags: string, attrs: { mode?: number }, cb: Callback<Buffer>): void;
  close(handle: Buffer, cb: Callback): void;
  write(handle: Buffer, buf: Buffer, offset: number, length: number, position: number, cb: Callback): void;
  read(handle: Buffer, buf: Buffer, offset: number, length: number, position: number, cb: Callback<number>): void;
  fstat(handle: Buffer, cb: Callback<Ssh2Stats>): void;
  fchmod(handle: Buffer, mode: number, cb: Callback): void;
  stat(path: string, cb: Callback<Ssh2Stats>): void;
  mkdir(path: string, cb: Callback): void;
  unlink(path: string, cb: Callback): void;
  rename(from: string, to: string, cb: Callback): void;
  /** posix-rename@openssh.com: replaces the target atomically. */
  ext_openssh_rename(from: string, to: string, cb: Callback): void;
  on(event: "close", listener: () => void): this;
  end(): void;
}

/** ssh2's Client. */
export interface Ssh2Client {
  on(event: "ready" | "close" | "end", listener: () => void): this;
  on(event: "error", listener: (error: Ssh2Error) => void): this;
  connect(config: Ssh2ConnectConfig): this;
  exec(command: string, cb: Callback<Ssh2Channel>): this;
  sftp(cb: Callback<Ssh2Sftp>): this;
  end(): this;
  destroy(): this;
  setNoDelay(noDelay: boolean): this;
}

/** A parsed key, as `utils.parseKey` returns it. */
export interface Ssh2ParsedKey {
  type: string;
  isPrivateKey(): boolean;
}

/**
 * A new, unconnected ssh2 Client.
 *
 * @example
 * ```ts ignore
 * const client = newSsh2Client();
 * ```
 */
export function newSsh2Client(): Ssh2Client {
  return new (ssh2 as unknown as { Client: new () => Ssh2Client }).Client();
}

/**
 * Parses an OpenSSH/PEM private key; an Error when it cannot (encrypted without passphrase, bad format).
 *
 * @example
 * ```ts ignore
 * const key = parsePrivateKey(await Deno.readFile(path));
 * ```
 */
export function parsePrivateKey(data: Uint8Array): Ssh2ParsedKey | Error {
  const parse = (ssh2 as unknown as { utils: { parseKey(d: Uint8Array): Ssh2ParsedKey | Ssh2ParsedKey[] | Error } })
    .utils.parseKey;
  const parsed = parse(Buffer.from(data));
  return Array.isArray(parsed) ? parsed[0] ?? new Error("no key in file") : parsed;
}
