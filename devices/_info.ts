/**
 * What a Linux device is, from one shell script run on it (shared by the
 * local and ssh transports): `uname -m`, `uname -sr`, `nproc`,
 * /etc/os-release's PRETTY_NAME and /proc/cpuinfo.
 *
 * @module
 */

import type { DeviceInfo } from "./transport.ts";

/**
 * The POSIX sh script whose output {@link parseInfo} reads: one `@section`
 * marker line before each source, errors silenced (a missing source leaves
 * its section empty).
 *
 * @example
 * ```ts ignore
 * const r = await transport.exec(["sh", "-c", INFO_SCRIPT]);
 * ```
 */
export const INFO_SCRIPT = [
  "echo @arch; uname -m 2>/dev/null",
  "echo @kernel; uname -sr 2>/dev/null",
  "echo @cores; nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null",
  "echo @os-release; cat /etc/os-release 2>/dev/null",
  "echo @cpuinfo; cat /proc/cpuinfo 2>/dev/null",
  "true",
].join("; ");

/**
 * ARM (implementer 0x41) CPU part numbers → core names, for /proc/cpuinfo files that name no model
 * (aarch64 kernels print only "CPU part"). From util-linux sys-utils/lscpu-arm.c.
 */
const ARM_PARTS: Record<string, string> = {
  "0xb76": "ARM1176",
  "0xc07": "Cortex-A7",
  "0xc08": "Cortex-A8",
  "0xc09": "Cortex-A9",
  "0xc0f": "Cortex-A15",
  "0xd01": "Cortex-A32",
  "0xd03": "Cortex-A53",
  "0xd04": "Cortex-A35",
  "0xd05": "Cortex-A55",
  "0xd07": "Cortex-A57",
  "0xd08": "Cortex-A72",
  "0xd09": "Cortex-A73",
  "0xd0a": "Cortex-A75",
  "0xd0b": "Cortex-A76",
  "0xd0c": "Neoverse-N1",
  "0xd0d": "Cortex-A77",
  "0xd40": "Neoverse-V1",
  "0xd41": "Cortex-A78",
  "0xd44": "Cortex-X1",
  "0xd46": "Cortex-A510",
  "0xd47": "Cortex-A710",
  "0xd48": "Cortex-X2",
  "0xd49": "Neoverse-N2",
  "0xd4b": "Cortex-A78C",
  "0xd4d": "Cortex-A715",
  "0xd4e": "Cortex-X3",
  "0xd80": "Cortex-A520",
  "0xd81": "Cortex-A720",
  "0xd82": "Cortex-X4",
};

/** The first value of a "key : value" line in /proc/cpuinfo (case matters: "Processor" ≠ "processor"). */
function cpuinfoField(cpuinfo: string, key: string): string | null {
  const line = cpuinfo.split("\n").find((l) => l.split(":")[0]?.trim() === key);
  const value = line?.slice(line.indexOf(":") + 1).trim();
  return value ? value : null;
}

/** The CPU's name: x86 "model name", old ARM "Hardware"/"Processor", else the ARM part number. */
function cpuModel(cpuinfo: string): string | null {
  const named = cpuinfoField(cpuinfo, "model name") ?? cpuinfoField(cpuinfo, "Hardware") ??
    cpuinfoField(cpuinfo, "Processor");
  if (named) return named;
  const implementer = cpuinfoField(cpuinfo, "CPU implementer");
  const part = cpuinfoField(cpuinfo, "CPU part")?.toLowerCase();
  if (!part) return null;
  const core = implementer === "0x41" ? ARM_PARTS[part] : undefined;
  return core ? `ARM ${core}` : `CPU implementer ${implementer ?? "?"} part ${part}`;
}

/**
 * Reads the output of {@link INFO_SCRIPT}.
 *
 * @example
 * ```ts
 * import { parseInfo } from "./_info.ts";
 * const info = parseInfo("@arch\naarch64\n@kernel\nLinux 6.1.0\n@cores\n4\n@os-release\n@cpuinfo\nCPU implementer\t: 0x41\nCPU part\t: 0xd03\n");
 * info.cpuModel; // "ARM Cortex-A53"
 * ```
 */
export function parseInfo(output: string): DeviceInfo {
  const sections = new Map<string, string>();
  let current = "";
  for (const line of output.split("\n")) {
    if (/^@[a-z-]+$/.test(line)) {
      current = line.slice(1);
      sections.set(current, "");
    } else if (current) {
      sections.set(current, sections.get(current) + line + "\n");
    }
  }
  const section = (name: string) => (sections.get(name) ?? "").trim();
  const cpuinfo = section("cpuinfo");
  const pretty = /^PRETTY_NAME=(.*)$/m.exec(section("os-release"))?.[1]?.replace(/^["']|["']$/g, "");
  const kernel = section("kernel");
  const os = kernel && pretty ? `${kernel} (${pretty})` : kernel || pretty || null;
  let cores: number | null = Number.parseInt(section("cores"), 10);
  if (!(cores > 0)) {
    const processors = cpuinfo.split("\n").filter((l) => /^processor\s*:/.test(l)).length;
    cores = processors > 0 ? processors : null;
  }
  return { arch: section("arch") || null, cpuModel: cpuModel(cpuinfo), cores, os };
}
