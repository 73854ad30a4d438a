/**
 * The floor calibration is compared with (docs: /work/shared/notes/calibration-cost.md): the
 * float model run over the same calibration batches, once as the user has it and once with every
 * observed tensor exposed as an output (ONNX Runtime then materializes and copies each one).
 * Session creation is included, as it is in the calibration time.
 *
 * @module
 */

import process from "node:process";
import type { BatchSource } from "../core/quant/calibrate.ts";
import { createOrtExecutor } from "../targets/ort.ts";

/** Wall-clock and process CPU seconds of one measured run (CPU time is steadier on a shared machine). */
export interface Seconds {
  wall: number;
  cpu: number;
}

/**
 * Wall and CPU seconds of `run()`.
 *
 * @example
 * ```ts
 * import { measureSeconds } from "./timing.ts";
 * const { wall, cpu } = await measureSeconds(async () => {});
 * ```
 */
export async function measureSeconds(run: () => Promise<unknown>): Promise<Seconds> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  await run();
  const c = process.cpuUsage(c0);
  return { wall: (performance.now() - t0) / 1000, cpu: (c.user + c.system) / 1e6 };
}

/**
 * Seconds (wall and CPU) to load `modelBytes` into ONNX Runtime and run it over every batch of
 * `source`, fetching `outputs`.
 *
 * @example
 * ```ts ignore
 * const seconds = await inferenceSeconds(await Deno.readFile("m.onnx"), source, ["logits"]);
 * ```
 */
export function inferenceSeconds(
  modelBytes: Uint8Array,
  source: BatchSource,
  outputs: readonly string[],
  threads = 1,
): Promise<Seconds> {
  return measureSeconds(async () => {
    const exec = await createOrtExecutor(modelBytes, { threads });
    try {
      for await (const batch of source()) await exec.run(batch.feeds, outputs);
    } finally {
      await exec.release();
    }
  });
}
