// The native runtime as Cortex-M firmware on QEMU's mps2-an385 board (Cortex-M3), driven over its UART
// through serial:// (devices/serial.ts): the fixtures' outputs equal the interpreter's byte for byte on 100
// inputs; a corrupted or truncated artifact is refused with its status; per-layer dumps equal the
// interpreter's per-op outputs; the SysTick cycle count comes back.
import assert from "node:assert/strict";
import { opCases } from "../core/sim/_op_cases_test_util.ts";
import { runProgram } from "../core/sim/interpreter.ts";
import type { TensorArray } from "../core/sim/program.ts";
import { writeArtifact } from "../targets/native/writer.ts";
import { SerialTransport } from "../devices/serial.ts";
import { buildFirmware, startMps2Board } from "./rigs/mps2_board.ts";
import { goldenSamples, NATIVE_FIXTURES } from "./_native_fixtures.ts";

const firmware = await buildFirmware();
const decode = (b: Uint8Array) => new TextDecoder().decode(b);
const bytes = (a: TensorArray) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

async function onBoard(run: (t: SerialTransport) => Promise<void>): Promise<void> {
  const board = await startMps2Board(firmware);
  const t = new SerialTransport(board.url);
  try {
    await t.connect();
    await run(t);
  } finally {
    await t.close();
    await board.stop();
  }
}

for (const name of NATIVE_FIXTURES) {
  Deno.test(`${name}: the mps2-an385 firmware equals the interpreter byte for byte on 100 inputs`, async () => {
    const golden = await goldenSamples(name);
    await onBoard(async (t) => {
      assert.equal(t.board!.name, "qm-fw");
      assert.equal(t.board!.major, 2);
      assert.equal((await t.info()).arch, "cortex-m3");
      await t.push(golden.artifact, "model.qm");
      const input = new Uint8Array(golden.inputs.reduce((n, x) => n + x.length, 0));
      golden.inputs.reduce((at, x) => (input.set(x, at), at + x.length), 0);
      await t.push(input, "input.bin");
      const r = await t.exec(["run", "model.qm", "input.bin", "output.bin"], { timeoutMs: 120_000 });
      const cycles = Number(decode(r.stdout).match(/^cycles=(\d+) runs=100 samples=100 status=0\n$/)?.[1]);
      assert.ok(cycles > 0, decode(r.stdout));
      const outputs = await t.pull("output.bin");
      const per = golden.outputs[0]!.length;
      assert.equal(outputs.length, per * golden.outputs.length);
      for (let i = 0; i < golden.outputs.length; i++) {
        assert.deepEqual(outputs.subarray(i * per, (i + 1) * per), golden.outputs[i], `sample ${i}`);
      }
    });
  });
}

Deno.test("the board refuses a corrupted artifact and dumps every layer on request", async () => {
  const c = opCases(3).find((k) => k.name.startsWith("conv 3x3 stride 2"))!;
  const artifact = writeArtifact(c.program);
  await onBoard(async (t) => {
    const input = bytes(c.inputs[0]!);
    await t.push(input, "in");
    const flipped = artifact.slice();
    flipped[flipped.length - 40] = flipped[flipped.length - 40]! ^ 0xff;
    await t.push(flipped, "bad.qm");
    const bad = await t.exec(["run", "bad.qm", "in", "out"], { check: false });
    assert.ok(bad.code >= 1 && bad.code <= 6, `exit ${bad.code}`);
    assert.match(decode(bad.stdout), new RegExp(`status=${bad.code}\\n$`));
    await t.push(artifact.slice(0, 7), "short.qm");
    assert.equal((await t.exec(["run", "short.qm", "in", "out"], { check: false })).code, 1); // truncated
    assert.equal((await t.exec(["run", "none.qm", "in", "out"], { check: false })).code, 66); // nothing there
    assert.equal((await t.stat("out")).state, "none"); // a failed run leaves no output
    await t.push(artifact, "m.qm");
    const r = await t.exec(["run", "m.qm", "in", "out", "--dump", "dump"]);
    assert.match(decode(r.stdout), /^cycles=[1-9]\d* runs=1 samples=1 status=0\n$/);
    const perOp: Uint8Array[] = [];
    const expected = runProgram(c.program, c.inputs, (_op, outputs) => perOp.push(bytes(outputs[0]!).slice()))[0]!;
    assert.equal(perOp.length, c.program.ops.length);
    const dump = await t.pull("dump");
    assert.deepEqual(dump, new Uint8Array(perOp.flatMap((p) => [...p])));
    assert.deepEqual(await t.pull("out"), bytes(expected));
    assert.deepEqual(dump.subarray(dump.length - expected.byteLength), bytes(expected));
  });
});
