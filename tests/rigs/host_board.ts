/**
 * The qm-fw board as a Linux process on a pty (runtime/firmware/host_board.c, built by
 * scripts/native/build_host_board.sh): the same protocol C as the Cortex-M firmware, paced to a baud
 * rate so that a transfer over it takes as long as on a real UART at that rate.
 *
 * @module
 */

import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** A running host board. */
export interface HostBoard {
  pty: string;
  /** `serial://<pty>?baud=<baud>` (115200 when unpaced). */
  url: string;
  pid: number;
  /** Kills the board by its PID. Safe to call twice. */
  stop(): Promise<void>;
}

/** How to start it. */
export interface HostBoardOptions {
  /** Line rate it paces itself to; 0: as fast as the pty goes (default). */
  baud?: number;
  /** Fault injection: "corrupt-store" flips a bit of every stored file. */
  fault?: "corrupt-store";
  /** Answer HELLO with this protocol major instead of the real one. */
  announceMajor?: number;
}

let built: Promise<string> | null = null;

/**
 * Builds qm_host_board once per process and returns its path.
 *
 * @example
 * ```ts ignore
 * const exe = await buildHostBoard();
 * ```
 */
export function buildHostBoard(): Promise<string> {
  built ??= (async () => {
    const r = await new Deno.Command(`${ROOT}scripts/native/build_host_board.sh`).output();
    if (r.code !== 0) throw new Error(`Building qm_host_board failed:\n${new TextDecoder().decode(r.stderr)}`);
    return new TextDecoder().decode(r.stdout).trim();
  })();
  return built;
}

/**
 * Starts a host board on a new pty.
 *
 * @example
 * ```ts ignore
 * const board = await startHostBoard({ baud: 115200 });
 * await board.stop();
 * ```
 */
export async function startHostBoard(options: HostBoardOptions = {}): Promise<HostBoard> {
  const baud = options.baud ?? 0;
  const args = ["--baud", String(baud)];
  if (options.fault) args.push("--fault", options.fault);
  if (options.announceMajor !== undefined) args.push("--announce-major", String(options.announceMajor));
  const child = new Deno.Command(await buildHostBoard(), { args, stdin: "null", stdout: "piped", stderr: "piped" })
    .spawn();
  const out = child.stdout.getReader();
  const stderr = new Response(child.stderr).text();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await child.status;
    await out.cancel().catch(() => {});
    await stderr.catch(() => {});
  };
  try {
    let text = "";
    while (!/\n/.test(text)) {
      const { value, done } = await out.read();
      if (done) throw new Error(`qm_host_board ended: ${text}${await stderr}`);
      text += new TextDecoder().decode(value);
    }
    const pty = text.match(/^pty (\S+)/)?.[1];
    if (!pty) throw new Error(`qm_host_board printed "${text.trim()}", not its pty`);
    return { pty, url: `serial://${pty}?baud=${baud || 115200}`, pid: child.pid, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
