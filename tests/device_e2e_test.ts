// `deno task quant --target T --device URL` end to end on real rigs: quantize a fixture, push the
// runner and the model, run on the (emulated) device, pull, and a debug report whose device-side
// output cosine vs the host's float model is >= 0.99. Faults of the run itself (hung runner, crashing
// runner) are errors with nothing reported as success; transport faults have their own tests.
import assert from "node:assert/strict";
import { runCli } from "./_cli.ts";
import { reportPathFor } from "../cli/files.ts";
import { startSshd } from "./rigs/sshd.ts";
import { startAdbRig } from "./rigs/adbd.ts";
import { buildFirmware, startMps2Board } from "./rigs/mps2_board.ts";
import { validateDebugReport } from "../core/report/schema.ts";
import { openTransport } from "../devices/mod.ts";
import { DeviceError } from "../devices/transport.ts";
import { DeviceOrtRunner } from "../cli/device_run.ts";
import { targetByName } from "../targets/mod.ts";

const MODEL = "calib-data/models/fmnist_resnet.onnx";

async function quantOnDevice(dir: string, extra: string[], out = `${dir}/m.int8.onnx`) {
  const r = await runCli("cli/quant.ts", [
    "--model",
    MODEL,
    "--calib",
    "calib-data/fmnist",
    "--limit",
    "48",
    "--method",
    "MINMAX",
    "--out",
    out,
    "--report",
    `${dir}/m.html`,
    "--runs",
    "5",
    "--warmup",
    "1",
    ...extra,
  ]);
  return { r, out, json: reportPathFor(out), html: `${dir}/m.html` };
}

/** The flags that reach the SSH rig: its URL, client key and known_hosts. */
function sshFlags(rig: { url: string; identity: string; knownHosts: string }): string[] {
  return ["--device", rig.url, "--identity", rig.identity, "--known-hosts", rig.knownHosts];
}

async function assertDeviceReport(json: string, arch: string, target: string) {
  const report = JSON.parse(await Deno.readTextFile(json));
  const debug = report.debug;
  assert.deepEqual(validateDebugReport(debug), []);
  assert.equal(debug.device.target, target);
  assert.equal(debug.device.arch, arch);
  assert.ok(debug.device.latencyUs.median > 0 && debug.device.runs === 5);
  assert.ok(debug.outputs[0].cosine >= 0.99, `device output cosine ${debug.outputs[0].cosine}`);
  assert.ok(debug.tensors.length >= 10);
  for (const t of debug.tensors) assert.ok(t.cosine > 0.9, `${t.tensor} cosine ${t.cosine}`);
  assert.match(debug.runtime, new RegExp(`${target} device`));
  return debug;
}

Deno.test("quant --target host --device local://: the host as a device, report from its tensors", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { r, json, html } = await quantOnDevice(dir, ["--target", "host", "--device", `local://${dir}/dev`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Device local:\/\/.*median .* over 5 runs \(onnxruntime 1\.30\.0/);
    await assertDeviceReport(json, "x86_64", "host");
    assert.match(await Deno.readTextFile(html), /<th>latency<\/th>/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("quant --target arm64 --device ssh://: real sshd, aarch64 runner under qemu", async () => {
  const rig = await startSshd({ board: "arm64" });
  const dir = await Deno.makeTempDir();
  try {
    const { r, json } = await quantOnDevice(dir, [
      "--target",
      "arm64",
      ...sshFlags(rig),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const debug = await assertDeviceReport(json, "aarch64", "arm64");
    assert.equal(debug.device.cpuModel, "ARM Cortex-A76");

    // A hung runner is killed at the timeout; nothing is written as success.
    const hung = await quantOnDevice(`${dir}/hung`, [
      "--target",
      "arm64",
      ...sshFlags(rig),
      "--runs",
      "100000",
      "--device-timeout",
      "3",
    ]);
    assert.equal(hung.r.code, 1);
    assert.match(hung.r.stderr, /^error: .*(timed out|timeout)/m);
    await assert.rejects(Deno.stat(hung.json));
  } finally {
    await rig.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("quant --target arm64 --device adb://: real adb server and adbd, aarch64 runner under qemu", async () => {
  const rig = await startAdbRig();
  const dir = await Deno.makeTempDir();
  try {
    const { r, json } = await quantOnDevice(dir, [
      "--target",
      "arm64",
      "--device",
      rig.url,
      "--device-dir",
      `${rig.deviceDir}/int8`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    await assertDeviceReport(json, "aarch64", "arm64");
  } finally {
    await rig.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("quant --target cortex-m --device serial://: the firmware on QEMU's mps2-an385 over its UART", async () => {
  const board = await startMps2Board(await buildFirmware());
  const dir = await Deno.makeTempDir();
  try {
    const { r, json } = await quantOnDevice(
      dir,
      ["--target", "cortex-m", "--device", board.url, "--device-samples", "2"],
      `${dir}/m.qm`,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Device serial:.*cycles per run/);
    const debug = await assertDeviceReport(json, "cortex-m3", "cortex-m");
    assert.ok(debug.device.cycles > 0);
    assert.equal(debug.data.samples, 2);
  } finally {
    await board.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("quant --target armv7 --device ssh://: qm_run (static armv7) on the board over SSH", async () => {
  const rig = await startSshd({ board: "arm64" });
  const dir = await Deno.makeTempDir();
  try {
    const { r, json } = await quantOnDevice(dir, [
      "--target",
      "armv7",
      ...sshFlags(rig),
      "--device-samples",
      "4",
    ], `${dir}/m.qm`);
    assert.equal(r.code, 0, r.stderr);
    const debug = await assertDeviceReport(json, "aarch64", "armv7");
    assert.match(debug.device.runtime, /qm_run/);
  } finally {
    await rig.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a crashing runner is an error carrying its exit code and stderr", async () => {
  const dir = await Deno.makeTempDir();
  const t = openTransport(`local://${dir}`);
  try {
    await t.connect();
    const target = targetByName("host");
    const runner = new DeviceOrtRunner(t, (await target.runnerBuild()).files, `${dir}/rt`, target.runArgv);
    await runner.install();
    const err = await runner.run({
      model: new TextEncoder().encode("not an onnx model"),
      inputs: { x: { data: new Float32Array(4), dims: [1, 4] } },
      warmup: 0,
      runs: 1,
      threads: 1,
    }).then(() => undefined, (e) => e);
    assert.ok(err instanceof DeviceError, String(err));
    assert.equal(err.kind, "exit");
    assert.equal(err.code, 4);
    assert.match(err.message, /model\.onnx/);
  } finally {
    await t.close();
    await Deno.remove(dir, { recursive: true });
  }
});
