/**
 * SysTick cycles of the native runtime on the mps2-an385 firmware in QEMU, through serial://, for
 * bench/native_bench.ts.
 *
 * @module
 */

import { SerialTransport } from "../devices/serial.ts";
import { buildFirmware, startMps2Board } from "../tests/rigs/mps2_board.ts";

/**
 * Pushes the artifact and the inputs (one sample each), runs them all with the firmware's `run`, and
 * returns the mean cycles per inference and whether every output equals the expected bytes.
 *
 * @example
 * ```ts ignore
 * const { cycles, bitExact } = await mps2Cycles(artifact, inputs, expected);
 * ```
 */
export async function mps2Cycles(
  artifact: Uint8Array,
  inputs: Uint8Array[],
  expected: Uint8Array[],
): Promise<{ cycles: number; bitExact: boolean }> {
  const board = await startMps2Board(await buildFirmware());
  const t = new SerialTransport(board.url);
  try {
    await t.push(artifact, "model.qm");
    const input = new Uint8Array(inputs.reduce((n, x) => n + x.length, 0));
    inputs.reduce((at, x) => (input.set(x, at), at + x.length), 0);
    await t.push(input, "input.bin");
    const r = await t.exec(["run", "model.qm", "input.bin", "output.bin"], { timeoutMs: 600_000 });
    const cycles = Number(new TextDecoder().decode(r.stdout).match(/cycles=(\d+)/)?.[1] ?? NaN);
    const outputs = await t.pull("output.bin");
    let at = 0, bitExact = outputs.length === expected.reduce((n, x) => n + x.length, 0);
    for (const e of expected) {
      bitExact &&= e.every((v, k) => v === outputs[at + k]);
      at += e.length;
    }
    return { cycles, bitExact };
  } finally {
    await t.close();
    await board.stop();
  }
}
