/**
 * The Cortex-M target: a microcontroller over serial. The QDQ model is compiled to the native
 * runtime's `.qm` for the "cortex-m" compiler target, and the board runs the native runtime as
 * firmware (runtime/firmware/mps2-an385, built by scripts/native/build_firmware.sh; QEMU's mps2-an385
 * in the tests). Nothing is pushed but the artifact, through the firmware's framed UART protocol
 * (devices/serial.ts); there is no command line.
 *
 * @module
 */

import { checkNative, NATIVE_BITS, NATIVE_SCHEMES } from "./_native_target.ts";
import { buildFirmware } from "./native/firmware.ts";
import { targetSpec } from "./native/targets.ts";
import type { Target } from "./target.ts";

/**
 * Cortex-M over serial, the native runtime as firmware.
 *
 * @example
 * ```ts
 * import { CORTEX_M } from "./cortex_m.ts";
 * CORTEX_M.runner; // "serial-firmware"
 * ```
 */
export const CORTEX_M: Target = {
  name: "cortex-m",
  description: "Cortex-M microcontrollers over serial: the native runtime as firmware (mps2-an385), the model as .qm",
  artifact: "native-qm",
  nativeTarget: "cortex-m",
  // The firmware is built for Cortex-M3 (Thumb-2, no FPU needed), which M4/M7/M33 also run.
  arch: ["cortex-m3", "cortex-m4", "cortex-m7", "cortex-m33"],
  ops: targetSpec("cortex-m").ops,
  schemes: NATIVE_SCHEMES,
  weightBits: NATIVE_BITS,
  runner: "serial-firmware",
  checkSupport: (features) => checkNative("cortex-m", "cortex-m", features),
  async runnerBuild() {
    return { files: [], firmware: await buildFirmware() };
  },
  runArgv() {
    throw new Error(
      "The cortex-m target has no command line: its firmware is driven over serial (serial://, devices/serial.ts)",
    );
  },
};
