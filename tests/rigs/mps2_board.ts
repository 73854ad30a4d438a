/**
 * A Cortex-M3 board for the tests and benches: QEMU's mps2-an385 running the qm-fw firmware
 * (scripts/native/build_firmware.sh), its UART0 on a pty that devices/serial.ts opens as
 * `serial://<pty>`.
 *
 * QEMU starts halted (`-S`) with its monitor on a unix socket; the rig opens the pty and keeps one handle
 * on it for the board's life (QEMU drops what the board sends while no one holds the pty, and notices a
 * returning reader only after a while), then sends `cont`. `stop()` kills QEMU by its PID.
 *
 * @module
 */

/** A running board. */
export interface Mps2Board {
  /** The pty of its UART0, e.g. /dev/pts/3. */
  pty: string;
  /** `serial://<pty>?baud=115200` (QEMU's UART ignores the baud rate). */
  url: string;
  /** QEMU's PID. */
  pid: number;
  /** Kills QEMU and closes the rig's handle on the pty. Safe to call twice. */
  stop(): Promise<void>;
}

export { buildFirmware } from "../../targets/native/firmware.ts";

async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, pattern: RegExp, what: string, ms = 10_000) {
  let text = "";
  const deadline = Date.now() + ms;
  const decoder = new TextDecoder();
  while (!pattern.test(text)) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const next = await Promise.race([
      reader.read(),
      new Promise<null>((resolve) => timer = setTimeout(() => resolve(null), Math.max(0, deadline - Date.now()))),
    ]).finally(() => clearTimeout(timer));
    if (next === null) throw new Error(`mps2 board: no ${what} within ${ms} ms; got: ${text}`);
    if (next.done) throw new Error(`mps2 board: QEMU ended before its ${what}; it printed: ${text}`);
    text += decoder.decode(next.value, { stream: true });
  }
  return text;
}

/**
 * Boots the firmware in QEMU and returns the board once it runs.
 *
 * @example
 * ```ts ignore
 * const board = await startMps2Board(await buildFirmware());
 * const t = new SerialTransport(board.url);
 * await t.connect();
 * await t.close();
 * await board.stop();
 * ```
 */
export async function startMps2Board(firmware: string): Promise<Mps2Board> {
  const dir = await Deno.makeTempDir({ prefix: "mps2-board-" });
  const monitor = `${dir}/monitor.sock`;
  const child = new Deno.Command("qemu-system-arm", {
    args: [
      "-M",
      "mps2-an385",
      "-display",
      "none",
      "-S",
      "-monitor",
      `unix:${monitor},server=on,wait=off`,
      "-serial",
      "pty",
      "-kernel",
      firmware,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = child.stdout.getReader();
  const stderr = new Response(child.stderr).text();
  let holder: Deno.FsFile | null = null;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await child.status;
    await out.cancel().catch(() => {});
    await stderr.catch(() => {});
    try {
      holder?.close();
    } catch { /* closed */ }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    const banner = await readUntil(out, /char device redirected to (\/dev\/pts\/\d+)/, "pty");
    const pty = banner.match(/char device redirected to (\/dev\/pts\/\d+)/)![1]!;
    // Keep draining QEMU's stdout so it never blocks on a full pipe.
    (async () => {
      try {
        while (!(await out.read()).done) { /* discard */ }
      } catch { /* cancelled */ }
    })();
    const stty = await new Deno.Command("stty", { args: ["-F", pty, "raw", "-echo"], stderr: "piped" }).output();
    if (stty.code !== 0) throw new Error(`stty ${pty}: ${new TextDecoder().decode(stty.stderr)}`);
    holder = await Deno.open(pty, { read: true });
    let conn: Deno.UnixConn | null = null;
    for (let i = 0; i < 200 && conn === null; i++) {
      try {
        conn = await Deno.connect({ transport: "unix", path: monitor });
      } catch {
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    if (conn === null) throw new Error(`mps2 board: no QEMU monitor at ${monitor}`);
    try {
      const reader = conn.readable.getReader();
      await readUntil(reader, /\(qemu\) $/, "monitor prompt");
      const writer = conn.writable.getWriter();
      await writer.write(new TextEncoder().encode("cont\n"));
      await readUntil(reader, /cont[\s\S]*\(qemu\) $/, "answer to cont");
      await reader.cancel();
      await writer.close().catch(() => {});
    } finally {
      try {
        conn.close();
      } catch { /* closed with its streams */ }
    }
    return { pty, url: `serial://${pty}?baud=115200`, pid: child.pid, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
