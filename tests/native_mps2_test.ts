// The native runtime as Cortex-M firmware on QEMU's mps2-an385 board (Cortex-M3), over its UART: the
// fixtures' outputs equal the interpreter's byte for byte on 100 inputs; a corrupted artifact is refused
// with its status; per-layer dumps and the SysTick cycle count come back.
import assert from "node:assert/strict";
import { opCases } from "../core/sim/_op_cases_test_util.ts";
import { runProgram } from "../core/sim/interpreter.ts";
import { writeArtifact } from "../targets/native/writer.ts";
import { buildFirmware, Mps2Board } from "../targets/native/mps2.ts";
import { goldenSamples, NATIVE_FIXTURES } from "./_native_fixtures.ts";

const firmware = await buildFirmware();

for (const name of NATIVE_FIXTURES) {
  Deno.test(`${name}: the mps2-an385 firmware equals the interpreter byte for byte on 100 inputs`, async () => {
    const golden = await goldenSamples(name);
    const board = await Mps2Board.boot(firmware);
    try {
      assert.match(board.banner, /^qm-fw\/1 /);
      assert.equal(await board.load(golden.artifact), 0);
      for (let i = 0; i < golden.inputs.length; i++) {
        assert.equal(await board.setInput(golden.inputs[i]!), 0);
        const r = await board.run();
        assert.equal(r.status, 0);
        assert.ok(r.cycles > 0);
        assert.deepEqual(r.outputs, golden.outputs[i], `sample ${i}`);
      }
    } finally {
      await board.close();
    }
  });
}

Deno.test("the board refuses a corrupted artifact and dumps every layer on request", async () => {
  const c = opCases(3).find((k) => k.name.startsWith("conv 3x3 stride 2"))!;
  const artifact = writeArtifact(c.program);
  const board = await Mps2Board.boot(firmware);
  try {
    const flipped = artifact.slice();
    flipped[flipped.length - 40] = flipped[flipped.length - 40]! ^ 0xff;
    assert.notEqual(await board.load(flipped), 0);
    assert.equal(await board.load(artifact.slice(0, 7)), 1); // truncated
    assert.equal((await board.run()).status, 7); // nothing loaded: bad call
    assert.equal(await board.load(artifact), 0);
    const input = c.inputs[0]!;
    assert.equal(await board.setInput(new Uint8Array(input.buffer, input.byteOffset, input.byteLength)), 0);
    const r = await board.run(true);
    const expected = runProgram(c.program, c.inputs)[0]!;
    assert.equal(r.dumps.length, c.program.ops.length);
    assert.deepEqual(r.dumps.at(-1), new Uint8Array(expected.buffer, expected.byteOffset, expected.byteLength));
    assert.deepEqual(r.outputs, r.dumps.at(-1));
  } finally {
    await board.close();
  }
});
