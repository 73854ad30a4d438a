/**
 * The transports, by URL scheme: `local://`, `ssh://user@host[:port]`,
 * `adb://[serial]`, `serial:///dev/ttyX?baud=115200`.
 *
 * @module
 */

import { DeviceError, type Spawner, type Transport } from "./transport.ts";
import { openAdb } from "./adb.ts";
import { openLocal } from "./local.ts";
import { openSerial } from "./serial.ts";
import { openSsh } from "./ssh.ts";

export * from "./transport.ts";

/** Options every transport understands (each ignores what does not apply to it). */
export interface OpenOptions {
  /** Process spawner for host programs (adb, stty, local commands); tests inject one. */
  spawner?: Spawner;
  /** SSH: accept and record a host key that is not in known_hosts (the explicit trust flag). */
  trustHostKey?: boolean;
  /** SSH: private key file (default: the agent, then ~/.ssh/id_ed25519, id_rsa). */
  identity?: string;
  /** SSH: known_hosts file (default ~/.ssh/known_hosts). */
  knownHosts?: string;
  /** Connect timeout (default 10 s). */
  connectTimeoutMs?: number;
}

type Opener = (url: URL, options: OpenOptions) => Transport;

/** Scheme → constructor. Listed by hand, one line per transport file. */
const OPENERS: Record<string, Opener> = {
  local: openLocal,
  ssh: openSsh,
  adb: openAdb,
  serial: openSerial,
};

/**
 * Parses a device URL and returns its (not yet connected) transport.
 *
 * @example
 * ```ts ignore
 * const t = openTransport("local://");
 * await t.connect();
 * ```
 */
export function openTransport(url: string, options: OpenOptions = {}): Transport {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DeviceError(
      "url",
      `Cannot parse device URL "${url}": expected e.g. ssh://user@host, adb://, serial:///dev/ttyUSB0`,
    );
  }
  const scheme = parsed.protocol.replace(/:$/, "");
  const open = OPENERS[scheme];
  if (!open) {
    throw new DeviceError(
      "url",
      `Unknown device scheme "${scheme}" in "${url}"; known: ${Object.keys(OPENERS).join(", ")}`,
    );
  }
  return open(parsed, options);
}
