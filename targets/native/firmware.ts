/**
 * The native runtime as Cortex-M firmware (runtime/firmware/mps2-an385): built by
 * scripts/native/build_firmware.sh with gcc-arm-none-eabi + newlib; it speaks the qm-fw serial
 * protocol of devices/_serial_protocol.ts.
 *
 * @module
 */

import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
let built: Promise<string> | undefined;

/**
 * Builds the firmware once per process and returns the ELF's path.
 *
 * @example
 * ```ts ignore
 * const elf = await buildFirmware(); // qemu-system-arm -M mps2-an385 -kernel <elf>
 * ```
 */
export function buildFirmware(): Promise<string> {
  built ??= (async () => {
    const r = await new Deno.Command(`${ROOT}scripts/native/build_firmware.sh`).output();
    if (r.code !== 0) throw new Error(`Building the firmware failed:\n${new TextDecoder().decode(r.stderr)}`);
    return new TextDecoder().decode(r.stdout).trim();
  })();
  built.catch(() => (built = undefined));
  return built;
}
