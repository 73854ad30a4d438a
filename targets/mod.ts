/**
 * The deployment targets, listed by hand (one line per target file), and lookup by name.
 *
 * @module
 */

import { ARM64 } from "./arm64.ts";
import { ARMV7 } from "./armv7.ts";
import { CORTEX_M } from "./cortex_m.ts";
import { HOST } from "./host.ts";
import type { Target } from "./target.ts";

export * from "./target.ts";
export { featuresOfFloatModel, featuresOfPlan, featuresOfQdqModel, type SchemeOptions } from "./features.ts";
export { ARM64, ARMV7, CORTEX_M, HOST };

/** Every target, by name. */
export const TARGETS: Readonly<Record<string, Target>> = {
  [HOST.name]: HOST,
  [ARM64.name]: ARM64,
  [ARMV7.name]: ARMV7,
  [CORTEX_M.name]: CORTEX_M,
};

/**
 * The target called `name`, or an error listing the known ones.
 *
 * @example
 * ```ts
 * import { targetByName } from "./mod.ts";
 * targetByName("armv7").artifact; // "native-qm"
 * ```
 */
export function targetByName(name: string): Target {
  const target = Object.hasOwn(TARGETS, name) ? TARGETS[name] : undefined;
  if (!target) throw new Error(`Unknown target "${name}"; known: ${Object.keys(TARGETS).join(", ")}`);
  return target;
}

/**
 * The targets whose runner runs on a device that reports `arch` (`uname -m`), e.g. to pick a default.
 *
 * @example
 * ```ts
 * import { targetsForArch } from "./mod.ts";
 * targetsForArch("aarch64").map((t) => t.name); // ["arm64"]
 * ```
 */
export function targetsForArch(arch: string): Target[] {
  return Object.values(TARGETS).filter((t) => t.arch.includes(arch));
}
