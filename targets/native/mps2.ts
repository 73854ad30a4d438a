/**
 * The native runtime on a Cortex-M board: QEMU's mps2-an385 (Cortex-M3) running the firmware of
 * runtime/firmware/mps2-an385, driven over its UART (QEMU's serial on stdio pipes) with the firmware's
 * framed protocol: hello, load an artifact, set inputs, run (with per-layer dumps on request), read
 * outputs and the SysTick cycle count.
 *
 * @module
 */

import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Result of one run on the board. */
export interface BoardRun {
  /** qm_status of the run (0: ok). */
  status: number;
  /** SysTick cycles of qm_run at the core clock. */
  cycles: number;
  /** Every output's bytes, concatenated. */
  outputs: Uint8Array;
  /** Per op (with dumps): its output bytes. */
  dumps: Uint8Array[];
}

/**
 * Builds the firmware (scripts/native/build_firmware.sh) and returns the ELF's path.
 *
 * @example
 * ```ts ignore
 * const elf = await buildFirmware();
 * ```
 */
export async function buildFirmware(): Promise<string> {
  const r = await new Deno.Command(`${ROOT}scripts/native/build_firmware.sh`).output();
  if (r.code !== 0) throw new Error(`Building the firmware failed:\n${new TextDecoder().decode(r.stderr)}`);
  return new TextDecoder().decode(r.stdout).trim();
}

/** A booted mps2-an385 board in QEMU. */
export class Mps2Board {
  private buffer = new Uint8Array(0);
  private closed = false;

  private constructor(
    private readonly child: Deno.ChildProcess,
    private readonly reader: ReadableStreamDefaultReader<Uint8Array>,
    private readonly writer: WritableStreamDefaultWriter<Uint8Array>,
    /** The firmware's banner ("qm-fw/1 …"). */
    readonly banner: string,
  ) {}

  /**
   * Boots the firmware and waits for its hello.
   *
   * @example
   * ```ts ignore
   * const board = await Mps2Board.boot(await buildFirmware());
   * await board.close();
   * ```
   */
  static async boot(firmware: string): Promise<Mps2Board> {
    const child = new Deno.Command("qemu-system-arm", {
      args: ["-M", "mps2-an385", "-display", "none", "-monitor", "none", "-serial", "stdio", "-kernel", firmware],
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const board = new Mps2Board(child, child.stdout.getReader(), child.stdin.getWriter(), "");
    const hello = await board.frame();
    if (hello.type !== "H") throw new Error(`The board greeted with frame "${hello.type}"`);
    return new Mps2Board(child, board.reader, board.writer, new TextDecoder().decode(hello.payload));
  }

  private async fill(n: number): Promise<void> {
    while (this.buffer.length < n) {
      const { value, done } = await this.reader.read();
      if (done) throw new Error("The board closed its serial port");
      const next = new Uint8Array(this.buffer.length + value.length);
      next.set(this.buffer);
      next.set(value, this.buffer.length);
      this.buffer = next;
    }
  }

  private take(n: number): Uint8Array {
    const out = this.buffer.slice(0, n);
    this.buffer = this.buffer.slice(n);
    return out;
  }

  /** Reads the next reply frame (skipping anything before its 0x5A marker). */
  private async frame(): Promise<{ type: string; payload: Uint8Array }> {
    for (;;) {
      await this.fill(1);
      if (this.take(1)[0] === 0x5a) break;
    }
    await this.fill(5);
    const head = this.take(5);
    const length = new DataView(head.buffer).getUint32(1, true);
    await this.fill(length);
    return { type: String.fromCharCode(head[0]!), payload: this.take(length) };
  }

  private async send(command: string, payload: Uint8Array): Promise<void> {
    const head = new Uint8Array(6);
    head[0] = 0xa5;
    head[1] = command.charCodeAt(0);
    new DataView(head.buffer).setUint32(2, payload.length, true);
    await this.writer.write(head);
    if (payload.length > 0) await this.writer.write(payload);
  }

  private async status(): Promise<number> {
    const f = await this.frame();
    if (f.type !== "S") throw new Error(`Expected a status frame, got "${f.type}"`);
    return f.payload[0]!;
  }

  /**
   * Sends an artifact; returns the board's qm_status for it (0: loaded).
   *
   * @example
   * ```ts ignore
   * await board.load(await Deno.readFile("m.qm")); // 0
   * ```
   */
  async load(artifact: Uint8Array): Promise<number> {
    await this.send("M", artifact);
    return await this.status();
  }

  /**
   * Sets every input (their bytes concatenated, in order); returns a status.
   *
   * @example
   * ```ts ignore
   * await board.setInput(new Uint8Array(784));
   * ```
   */
  async setInput(bytes: Uint8Array): Promise<number> {
    await this.send("I", bytes);
    return await this.status();
  }

  /**
   * Runs the loaded model on the inputs set.
   *
   * @example
   * ```ts ignore
   * const { outputs, cycles } = await board.run();
   * ```
   */
  async run(dumps = false): Promise<BoardRun> {
    await this.send("R", new Uint8Array([dumps ? 1 : 0]));
    const layers: Uint8Array[] = [];
    for (;;) {
      const f = await this.frame();
      if (f.type === "D") {
        layers.push(f.payload.slice(4));
        continue;
      }
      if (f.type !== "O") throw new Error(`Expected an output frame, got "${f.type}"`);
      const view = new DataView(f.payload.buffer, f.payload.byteOffset);
      return { status: f.payload[0]!, cycles: view.getUint32(1, true), outputs: f.payload.slice(5), dumps: layers };
    }
  }

  /**
   * Stops QEMU.
   *
   * @example
   * ```ts ignore
   * await board.close();
   * ```
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.writer.close();
    } catch { /* already closed */ }
    try {
      this.child.kill("SIGTERM");
    } catch { /* already exited */ }
    await this.reader.cancel().catch(() => {});
    await this.child.status;
  }
}
