// serial:// end to end on QEMU's mps2-an385 (Cortex-M3) running the qm-fw firmware: hello; a real .qm
// artifact and its inputs pushed, `run` with per-op dumps, outputs and dumps pulled and equal to the
// TypeScript interpreter's bytes. Faults on the wire through a man in the middle (tests/rigs/serial_mitm.ts):
// damaged frames both ways are retried and everything still arrives bit-exact; damage to every frame ends
// in DeviceError "protocol" with nothing stored as complete; a pulled cable mid-push is "disconnected" and
// the next push resumes from the offset the board confirms (SHA-256 checked); a killed board is
// "disconnected"; no device is "unreachable"; a board that stores wrong bytes (qm_host_board's fault
// flag) fails with "verify".
import assert from "node:assert/strict";
import { DeviceError } from "../devices/transport.ts";
import { FRAME } from "../devices/_serial_protocol.ts";
import { SerialTransport } from "../devices/serial.ts";
import { runProgram } from "../core/sim/interpreter.ts";
import type { TensorArray } from "../core/sim/program.ts";
import { opCases } from "../core/sim/_op_cases_test_util.ts";
import { writeArtifact } from "../targets/native/writer.ts";
import { buildFirmware, startMps2Board } from "./rigs/mps2_board.ts";
import { type FrameAction, type MitmFrame, startSerialMitm } from "./rigs/serial_mitm.ts";
import { startHostBoard } from "./rigs/host_board.ts";
import { goldenSamples, nativeFixture } from "./_native_fixtures.ts";

const firmware = await buildFirmware();
const decode = (b: Uint8Array) => new TextDecoder().decode(b);
const bytes = (a: TensorArray) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const concat = (parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, at), at += p.length;
  return out;
};

async function rejectsWith(p: Promise<unknown>, kind: DeviceError["kind"], message: RegExp): Promise<DeviceError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof DeviceError, `expected a DeviceError, got ${e}`);
    assert.equal(e.kind, kind, e.message);
    assert.match(e.message, message);
    return e;
  }
  assert.fail(`expected DeviceError "${kind}"`);
}

/** A small real artifact (one strided conv) with its input and the interpreter's output. */
function smallCase() {
  const c = opCases(3).find((k) => k.name.startsWith("conv 3x3 stride 2"))!;
  return {
    artifact: writeArtifact(c.program),
    input: bytes(c.inputs[0]!),
    output: bytes(runProgram(c.program, c.inputs)[0]!),
  };
}

Deno.test("mps2-an385 over serial://: a real artifact runs bit-exact, per-op dumps included", async () => {
  const fixture = await nativeFixture("fmnist_mobilenet");
  const golden = await goldenSamples("fmnist_mobilenet");
  const samples = 6;
  const expectedDumps: Uint8Array[] = [];
  const int8 = fixture.program.tensors[fixture.program.inputs[0]!]!.dtype === "int8";
  for (const input of golden.inputs.slice(0, samples)) {
    const typed = int8 ? new Int8Array(input.buffer, input.byteOffset, input.byteLength) : input;
    runProgram(fixture.program, [typed], (_op, outputs) => expectedDumps.push(bytes(outputs[0]!).slice()));
  }
  const board = await startMps2Board(firmware);
  const t = new SerialTransport(board.url);
  try {
    await t.connect();
    assert.deepEqual(await t.info(), {
      arch: "cortex-m3",
      cpuModel: "cortex-m3 at 25 MHz (qm-fw 2.0)",
      cores: 1,
      os: "qm-fw/2.0",
    });
    assert.equal(t.board!.maxPayload, 1024);
    const pushed = await t.push(golden.artifact, "model.qm");
    assert.equal(pushed.bytes, golden.artifact.length);
    await t.push(concat(golden.inputs.slice(0, samples)), "input.bin");
    const r = await t.exec(["run", "model.qm", "input.bin", "output.bin", "--dump", "dump.bin"]);
    assert.match(decode(r.stdout), new RegExp(`^cycles=[1-9]\\d* runs=${samples} samples=${samples} status=0\\n$`));
    const outputs = await t.pull("output.bin");
    const per = golden.outputs[0]!.length;
    assert.equal(outputs.length, per * samples);
    for (let i = 0; i < samples; i++) {
      assert.deepEqual(outputs.subarray(i * per, (i + 1) * per), golden.outputs[i], `sample ${i}`);
    }
    assert.equal(expectedDumps.length, fixture.program.ops.length * samples);
    assert.deepEqual(await t.pull("dump.bin"), concat(expectedDumps));
    assert.match(decode((await t.exec(["ls"])).stdout), /complete model\.qm\n[\s\S]*complete dump\.bin\n/);
  } finally {
    await t.close();
    await board.stop();
  }
});

Deno.test("damaged frames both ways are NAKed and sent again; the results stay bit-exact", async () => {
  const { artifact, input, output } = smallCase();
  const board = await startMps2Board(firmware);
  // The pushes send 2 + 1 DATA frames; ACKs answer OPEN, DATA, DATA, OPEN, DATA, EXEC.
  const seen = { data: 0, ack: 0, read: 0, result: 0 };
  const policy = (f: MitmFrame): FrameAction => {
    if (f.direction === "to-board" && f.type === FRAME.DATA && [0, 2].includes(seen.data++)) return "corrupt";
    if (f.direction === "to-host" && f.type === FRAME.ACK && [1, 5].includes(seen.ack++)) return "corrupt";
    if (f.direction === "to-host" && f.type === FRAME.READ_REPLY && seen.read++ === 0) return "corrupt";
    if (f.direction === "to-host" && f.type === FRAME.EXEC_RESULT && seen.result++ === 0) return "corrupt";
    return "pass";
  };
  const mitm = await startSerialMitm(board.pty, policy);
  const t = new SerialTransport(`serial://${mitm.hostPty}?timeout=1000`);
  try {
    await t.push(artifact, "m.qm");
    await t.push(input, "in");
    const r = await t.exec(["run", "m.qm", "in", "out"]);
    assert.match(decode(r.stdout), /status=0/);
    assert.deepEqual(await t.pull("out"), output);
    assert.equal(mitm.counts.corrupted, 6);
    assert.equal(t.stats.naksReceived, 2, JSON.stringify(t.stats));
    assert.equal(t.stats.corruptReceived, 4, JSON.stringify(t.stats));
  } finally {
    await t.close();
    await mitm.stop();
    await board.stop();
  }
});

Deno.test("damage to every frame ends in DeviceError protocol, and nothing is stored as complete", async () => {
  const board = await startMps2Board(firmware);
  let data = 0, armed = false;
  const mitm = await startSerialMitm(board.pty, (f) => {
    if (f.direction === "to-board" && f.type === FRAME.DATA && data++ === 5) armed = true;
    return armed && f.direction === "to-board" ? "corrupt" : "pass";
  });
  const t = new SerialTransport(`serial://${mitm.hostPty}?timeout=500`);
  try {
    await rejectsWith(
      t.push(new Uint8Array(20_000).fill(7), "blob"),
      "protocol",
      /DATA frame \(seq \d+ at offset \d+ of blob\) failed 5 times: frame corrupted 5 times, no answer 0 times/,
    );
  } finally {
    await t.close();
    await mitm.stop();
  }
  const direct = new SerialTransport(board.url);
  try {
    assert.equal((await direct.stat("blob")).state, "writing");
    assert.match(decode((await direct.exec(["ls"])).stdout), /^20000 writing \d+ blob\n$/);
    await rejectsWith(direct.pull("blob"), "exit", /still being written/);
  } finally {
    await direct.close();
    await board.stop();
  }
});

Deno.test("a cable pulled mid-push is 'disconnected'; the next push resumes where the board says", async () => {
  const board = await startMps2Board(firmware);
  const blob = Uint8Array.from({ length: 48_000 }, (_, i) => (i * 2654435761) >>> 24);
  let data = 0;
  const cut = await startSerialMitm(board.pty, (f) => {
    if (f.direction === "to-board" && f.type === FRAME.DATA && data++ === 20) {
      cut.pullCable();
      return "drop";
    }
    return "pass";
  });
  const first = new SerialTransport(`serial://${cut.hostPty}`);
  try {
    await rejectsWith(first.push(blob, "blob"), "disconnected", /the line went away/);
  } finally {
    await first.close();
    await cut.stop();
  }
  const again = new SerialTransport(board.url);
  try {
    const before = await again.stat("blob");
    assert.equal(before.state, "writing");
    assert.ok(before.received >= 10 * 1020 && before.received <= 21 * 1020, `received ${before.received}`);
    const r = await again.push(blob, "blob");
    assert.equal(r.resumedFrom, before.received);
    assert.ok(again.stats.bytesSent < blob.length - before.received + 8_000, JSON.stringify(again.stats));
    assert.equal(decode((await again.exec(["sha256", "blob"])).stdout), `${r.sha256}  blob\n`);
    assert.deepEqual(await again.pull("blob"), blob);
  } finally {
    await again.close();
    await board.stop();
  }
});

Deno.test("a board killed mid-push is 'disconnected'; no device is 'unreachable'; wrong bytes stored is 'verify'", async () => {
  const board = await startMps2Board(firmware);
  const t = new SerialTransport(board.url);
  try {
    await t.connect();
    const push = t.push(new Uint8Array(40_000), "big");
    while (t.stats.framesSent < 8) await new Promise((r) => setTimeout(r, 10));
    Deno.kill(board.pid, "SIGKILL");
    await rejectsWith(push, "disconnected", /the line went away/);
  } finally {
    await t.close();
    await board.stop();
  }
  await rejectsWith(new SerialTransport("serial:///dev/ttyQM-none").connect(), "unreachable", /ttyQM-none/);
  const faulty = await startHostBoard({ fault: "corrupt-store" });
  const f = new SerialTransport(faulty.url);
  try {
    await rejectsWith(f.push(smallCase().artifact, "m.qm"), "verify", /differs from the \d+ bytes sent/);
  } finally {
    await f.close();
    await faulty.stop();
  }
});
