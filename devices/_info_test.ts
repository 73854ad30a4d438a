import assert from "node:assert/strict";
import { parseInfo } from "./_info.ts";

const info = (arch: string, kernel: string, cores: string, osRelease: string, cpuinfo: string) =>
  parseInfo(`@arch\n${arch}\n@kernel\n${kernel}\n@cores\n${cores}\n@os-release\n${osRelease}\n@cpuinfo\n${cpuinfo}\n`);

Deno.test("x86: model name, nproc, uname and PRETTY_NAME", () => {
  const r = info(
    "x86_64",
    "Linux 6.1.0-18-amd64",
    "8",
    'NAME="Debian GNU/Linux"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"',
    "processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu\n",
  );
  assert.deepEqual(r, {
    arch: "x86_64",
    cpuModel: "AMD EPYC 7B13",
    cores: 8,
    os: "Linux 6.1.0-18-amd64 (Debian GNU/Linux 12 (bookworm))",
  });
});

Deno.test("aarch64 names the core from the CPU part; armv7 from Hardware; unknown parts stay numeric", () => {
  const a76 = "processor\t: 0\nCPU implementer\t: 0x41\nCPU part\t: 0xd0b\n\nprocessor\t: 1\nCPU part\t: 0xd0b\n";
  assert.equal(info("aarch64", "Linux 6.6", "", "", a76).cpuModel, "ARM Cortex-A76");
  assert.equal(info("aarch64", "Linux 6.6", "", "", a76).cores, 2); // no nproc: counted processors
  assert.equal(info("armv7l", "", "4", "", "processor\t: 0\nHardware\t: BCM2835\n").cpuModel, "BCM2835");
  assert.equal(
    info("aarch64", "", "1", "", "CPU implementer\t: 0x51\nCPU part\t: 0x801\n").cpuModel,
    "CPU implementer 0x51 part 0x801",
  );
});

Deno.test("missing sources give nulls, not guesses", () => {
  assert.deepEqual(parseInfo(""), { arch: null, cpuModel: null, cores: null, os: null });
  assert.equal(info("", "", "", "PRETTY_NAME='Buildroot 2024.02'", "").os, "Buildroot 2024.02");
});
