import assert from "node:assert/strict";
import { ARM64, ARMV7, CORTEX_M, HOST, type RunRequest, targetByName, TARGETS, targetsForArch } from "./mod.ts";
import { NATIVE_TARGETS } from "./native/targets.ts";

const REQUEST: RunRequest = {
  dir: "/data/local/tmp/int8/",
  model: "/data/local/tmp/int8/m.onnx",
  inputs: [{ name: "input", file: "/data/local/tmp/int8/in 0.npy" }, { name: "mask:0", file: "/t/m.npy" }],
  outDir: "/data/local/tmp/int8/out",
};

Deno.test("registry: four targets by name, one error listing the known names, lookup by uname -m", () => {
  assert.deepEqual(Object.keys(TARGETS), ["host", "arm64", "armv7", "cortex-m"]);
  for (const [name, t] of Object.entries(TARGETS)) {
    assert.equal(t.name, name);
    assert.ok(t.description.length > 20 && t.arch.length > 0, name);
    assert.equal(targetByName(name), t);
    if (t.artifact === "native-qm") assert.ok(t.nativeTarget && NATIVE_TARGETS[t.nativeTarget], name);
    else assert.equal(t.nativeTarget, undefined);
  }
  assert.throws(() => targetByName("riscv"), /Unknown target "riscv"; known: host, arm64, armv7, cortex-m/);
  assert.throws(() => targetByName("toString"), /Unknown target "toString"/);
  assert.deepEqual(targetsForArch("x86_64"), [HOST]);
  assert.deepEqual(targetsForArch("aarch64"), [ARM64]);
  assert.deepEqual(targetsForArch("armv7l"), [ARMV7]);
  assert.deepEqual(targetsForArch("cortex-m3"), [CORTEX_M]);
  assert.deepEqual(targetsForArch("mips"), []);
});

Deno.test("targets say what they run: artifacts, runners, schemes and bit widths", () => {
  assert.deepEqual(
    Object.values(TARGETS).map((t) => [t.name, t.artifact, t.runner]),
    [
      ["host", "qdq-onnx", "int8-runner"],
      ["arm64", "qdq-onnx", "int8-runner"],
      ["armv7", "native-qm", "qm_run"],
      ["cortex-m", "native-qm", "serial-firmware"],
    ],
  );
  assert.equal(HOST.ops, "onnx-runtime-cpu");
  assert.ok(ARMV7.ops !== "onnx-runtime-cpu" && ARMV7.ops.has("Conv") && !ARMV7.ops.has("Erf"));
  for (const t of [HOST, ARM64]) assert.ok(t.schemes.has("activations-int16") && t.schemes.has("weights-uint8"));
  for (const t of [ARMV7, CORTEX_M]) {
    assert.ok(!t.schemes.has("activations-int16") && !t.schemes.has("weights-uint8"), t.name);
    assert.ok(t.schemes.has("activations-uint8") && t.schemes.has("weights-per-channel"), t.name);
  }
  for (const t of Object.values(TARGETS)) {
    const lacks = t.checkSupport({ nodes: [], schemes: new Map(), bits: 9 });
    assert.deepEqual(lacks.map((u) => [u.kind, u.what, u.reason]), [[
      "bits",
      "9-bit quantization",
      "it takes 2 to 8 bits",
    ]]);
  }
});

Deno.test("int8-runner argv follows the runner contract; bad values are refused", () => {
  assert.deepEqual(HOST.runArgv(REQUEST), [
    "/data/local/tmp/int8/int8-runner",
    "--model",
    "/data/local/tmp/int8/m.onnx",
    "--input",
    "input=/data/local/tmp/int8/in 0.npy",
    "--input",
    "mask:0=/t/m.npy",
    "--out-dir",
    "/data/local/tmp/int8/out",
  ]);
  assert.deepEqual(
    ARM64.runArgv({
      ...REQUEST,
      inputs: [REQUEST.inputs[0]!],
      warmup: 0,
      runs: 50,
      threads: 4,
      pin: [4, 5],
      samples: 2,
    })
      .slice(5),
    [
      "--out-dir",
      "/data/local/tmp/int8/out",
      "--warmup",
      "0",
      "--runs",
      "50",
      "--threads",
      "4",
      "--pin",
      "4,5",
      "--samples",
      "2",
    ],
  );
  assert.throws(() => HOST.runArgv({ ...REQUEST, runs: 0 }), /--runs must be an integer ≥ 1, got 0/);
  assert.throws(() => HOST.runArgv({ ...REQUEST, threads: 1.5 }), /--threads/);
  assert.throws(() => HOST.runArgv({ ...REQUEST, pin: [-1] }), /--pin/);
  assert.throws(() => HOST.runArgv({ ...REQUEST, inputs: [] }), /at least one --input/);
  assert.throws(() => HOST.runArgv({ ...REQUEST, inputs: [{ name: "a=b", file: "x" }] }), /"a=b" cannot be passed/);
});

Deno.test("armv7 runs qm_run on one raw input; cortex-m has no command line", () => {
  const raw = { ...REQUEST, inputs: [{ name: "all", file: "/tmp/q/in.bin" }], runs: 7 };
  assert.deepEqual(ARMV7.runArgv(raw), [
    "/data/local/tmp/int8/qm_run",
    "/data/local/tmp/int8/m.onnx",
    "/tmp/q/in.bin",
    "/data/local/tmp/int8/out/0.bin",
  ]);
  assert.deepEqual(ARMV7.timeArgv!(raw), ["/data/local/tmp/int8/qm_run", "/data/local/tmp/int8/m.onnx", "--time", "7"]);
  assert.throws(() => ARMV7.runArgv(REQUEST), /one raw input file/);
  assert.throws(() => ARMV7.runArgv({ ...raw, threads: 2 }), /--threads and --pin do not apply to armv7/);
  assert.throws(() => CORTEX_M.runArgv(REQUEST), /no command line: its firmware is driven over serial/);
});

Deno.test("native runner builds: armv7 gives a static ARM qm_run to push; cortex-m a firmware and nothing to push", async () => {
  const armv7 = await ARMV7.runnerBuild();
  assert.equal(armv7.firmware, undefined);
  assert.deepEqual(armv7.files.map((f) => [f.name, f.mode]), [["qm_run", 0o755]]);
  const elf = await Deno.readFile(armv7.files[0]!.local);
  assert.deepEqual([...elf.subarray(0, 5)], [0x7f, 0x45, 0x4c, 0x46, 1]); // ELF, 32-bit
  assert.equal(elf[18], 0x28); // e_machine EM_ARM
  const m = await CORTEX_M.runnerBuild();
  assert.deepEqual(m.files, []);
  assert.match(m.firmware!, /qm_fw\.elf$/);
  assert.ok((await Deno.stat(m.firmware!)).size > 0);
});
