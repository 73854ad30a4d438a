/**
 * OpenSSH known_hosts, as sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT" describes it:
 * plain host patterns (comma lists, `*`/`?` wildcards, `!` negation, the
 * `[host]:port` form for ports other than 22), hashed `|1|salt|hash` names
 * (HMAC-SHA1 of the name keyed by the salt), `@revoked` lines; ed25519, RSA
 * and ECDSA keys. `@cert-authority` lines are skipped (no certificates here).
 *
 * @module
 */

import { createHash, createHmac } from "node:crypto";
import { Buffer } from "node:buffer";

/** One key line of a known_hosts file. */
export interface KnownHostEntry {
  /** 1-based line number, for messages. */
  line: number;
  marker: "revoked" | "cert-authority" | null;
  /** The host field as written: patterns, or one `|1|salt|hash`. */
  hosts: string;
  keyType: string;
  /** The key blob (what the server sends), decoded from base64. */
  key: Uint8Array;
}

/** How a server's key compares with what known_hosts says about the host. */
export type HostKeyVerdict =
  | { status: "known"; entry: KnownHostEntry }
  | { status: "revoked"; entry: KnownHostEntry }
  /** The host is listed, but under other keys: someone may be in the middle. */
  | { status: "changed"; entries: KnownHostEntry[] }
  | { status: "unknown" };

/**
 * The name known_hosts stores for a host: `host` on port 22, else `[host]:port`.
 *
 * @example
 * ```ts
 * import { knownHostsName } from "./_known_hosts.ts";
 * knownHostsName("127.0.0.1", 2222); // "[127.0.0.1]:2222"
 * ```
 */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/**
 * Parses a known_hosts file; comments, blank and malformed lines are skipped.
 *
 * @example
 * ```ts
 * import { parseKnownHosts } from "./_known_hosts.ts";
 * const [e] = parseKnownHosts("[10.0.0.2]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG8Ln0ZRZ9vZi3xW3c6mKxYcZ0bHh+J5c8wq9r1Vq6Yw\n");
 * e!.keyType; // "ssh-ed25519"
 * ```
 */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split("\n").forEach((raw, index) => {
    const fields = raw.trim().split(/\s+/);
    if (fields[0] === undefined || fields[0] === "" || fields[0].startsWith("#")) return;
    let marker: KnownHostEntry["marker"] = null;
    if (fields[0] === "@revoked" || fields[0] === "@cert-authority") {
      marker = fields[0] === "@revoked" ? "revoked" : "cert-authority";
      fields.shift();
    }
    const [hosts, keyType, base64] = fields;
    if (hosts === undefined || keyType === undefined || base64 === undefined) return;
    const key = new Uint8Array(Buffer.from(base64, "base64"));
    if (key.length === 0 || keyBlobType(key) !== keyType) return; // not a key we can read
    entries.push({ line: index + 1, marker, hosts, keyType, key });
  });
  return entries;
}

/**
 * The key type named inside a key blob (its first SSH string), or null.
 *
 * @example
 * ```ts
 * import { keyBlobType } from "./_known_hosts.ts";
 * keyBlobType(new Uint8Array([0, 0, 0, 7, ...new TextEncoder().encode("ssh-rsa")])); // "ssh-rsa"
 * ```
 */
export function keyBlobType(blob: Uint8Array): string | null {
  if (blob.length < 4) return null;
  const length = new DataView(blob.buffer, blob.byteOffset, blob.byteLength).getUint32(0);
  if (length > 64 || 4 + length > blob.length) return null;
  return new TextDecoder().decode(blob.subarray(4, 4 + length));
}

/** A glob with `*` and `?`, as OpenSSH's match_pattern() reads it (case-insensitive for host names). */
function globMatches(pattern: string, name: string): boolean {
  const regex = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*").replaceAll("?", ".");
  return new RegExp(`^${regex}$`, "i").test(name);
}

/** Whether one host field names `name` (a `[host]:port` or bare host from {@link knownHostsName}). */
function hostFieldMatches(hosts: string, name: string): boolean {
  if (hosts.startsWith("|1|")) {
    const [, , salt, hash] = hosts.split("|");
    if (salt === undefined || hash === undefined) return false;
    const digest = createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64");
    return digest === hash;
  }
  let matched = false;
  for (const pattern of hosts.split(",")) {
    if (pattern.startsWith("!")) {
      if (globMatches(pattern.slice(1), name)) return false; // a negated match wins outright
    } else if (globMatches(pattern, name)) {
      matched = true;
    }
  }
  return matched;
}

/**
 * The entries about one host (revoked ones included, certificate authorities left out).
 *
 * @example
 * ```ts ignore
 * entriesFor(parseKnownHosts(text), "127.0.0.1", 2222);
 * ```
 */
export function entriesFor(entries: readonly KnownHostEntry[], host: string, port: number): KnownHostEntry[] {
  const name = knownHostsName(host, port);
  return entries.filter((e) => e.marker !== "cert-authority" && hostFieldMatches(e.hosts, name));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Compares the key a server presented with known_hosts: a revoked key is refused wherever it is
 * listed; a listed host whose keys all differ has *changed*.
 *
 * @example
 * ```ts ignore
 * checkHostKey(parseKnownHosts(text), "127.0.0.1", 2222, blob).status; // "known" | "unknown" | "changed" | "revoked"
 * ```
 */
export function checkHostKey(
  entries: readonly KnownHostEntry[],
  host: string,
  port: number,
  blob: Uint8Array,
): HostKeyVerdict {
  const revoked = entries.find((e) => e.marker === "revoked" && sameBytes(e.key, blob));
  if (revoked) return { status: "revoked", entry: revoked };
  const listed = entriesFor(entries, host, port).filter((e) => e.marker === null);
  const known = listed.find((e) => sameBytes(e.key, blob));
  if (known) return { status: "known", entry: known };
  return listed.length > 0 ? { status: "changed", entries: listed } : { status: "unknown" };
}

/**
 * OpenSSH's fingerprint of a key blob: `SHA256:` and unpadded base64.
 *
 * @example
 * ```ts ignore
 * fingerprint(blob); // "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8"
 * ```
 */
export function fingerprint(blob: Uint8Array): string {
  return "SHA256:" + createHash("sha256").update(blob).digest("base64").replace(/=+$/, "");
}

/** Human names of key types, as ssh-keygen -l prints them. */
const KEY_TYPE_NAMES: Record<string, string> = {
  "ssh-ed25519": "ED25519",
  "ssh-rsa": "RSA",
  "ecdsa-sha2-nistp256": "ECDSA",
  "ecdsa-sha2-nistp384": "ECDSA",
  "ecdsa-sha2-nistp521": "ECDSA",
};

/**
 * "ED25519 key SHA256:…", for messages.
 *
 * @example
 * ```ts ignore
 * describeKey(blob); // "ED25519 key SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8"
 * ```
 */
export function describeKey(blob: Uint8Array): string {
  const type = keyBlobType(blob) ?? "unknown";
  return `${KEY_TYPE_NAMES[type] ?? type} key ${fingerprint(blob)}`;
}

/** Host-key algorithms ssh2 offers, strongest first; each known_hosts key type maps to the ones it serves. */
const HOST_KEY_ALGORITHMS: Record<string, string[]> = {
  "ssh-ed25519": ["ssh-ed25519"],
  "ecdsa-sha2-nistp256": ["ecdsa-sha2-nistp256"],
  "ecdsa-sha2-nistp384": ["ecdsa-sha2-nistp384"],
  "ecdsa-sha2-nistp521": ["ecdsa-sha2-nistp521"],
  "ssh-rsa": ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"],
};

/**
 * The host-key algorithms to offer: those of keys already known for the host first (so a server
 * with several host keys shows the one we can check, as OpenSSH's ssh does), then the rest.
 *
 * @example
 * ```ts
 * import { hostKeyAlgorithms } from "./_known_hosts.ts";
 * hostKeyAlgorithms(["ssh-rsa"])[0]; // "rsa-sha2-512"
 * ```
 */
export function hostKeyAlgorithms(knownTypes: readonly string[]): string[] {
  const all = Object.values(HOST_KEY_ALGORITHMS).flat();
  const first = knownTypes.flatMap((t) => HOST_KEY_ALGORITHMS[t] ?? []);
  return [...new Set([...first, ...all])];
}

/**
 * The line that records a host key: `[host]:port type base64`.
 *
 * @example
 * ```ts ignore
 * knownHostsLine("127.0.0.1", 2222, blob); // "[127.0.0.1]:2222 ssh-ed25519 AAAAC3Nza…"
 * ```
 */
export function knownHostsLine(host: string, port: number, blob: Uint8Array): string {
  return `${knownHostsName(host, port)} ${keyBlobType(blob)} ${Buffer.from(blob).toString("base64")}`;
}
