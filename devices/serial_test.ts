// serial:// against qm_host_board (runtime/firmware/host_board.c: the firmware's protocol C, built for
// Linux, on a real pty): URL parsing, the line set up through the injected spawner, push / pull / exec and
// their errors, a board that never answers, another protocol version, a board that stores the bytes
// wrong ("verify"), lost frames and lost replies (retransmitted; a duplicate EXEC is not run twice), and
// exec timeouts (a run the board aborts; a board too busy to answer, reported as hung).
import assert from "node:assert/strict";
import { openTransport } from "./mod.ts";
import { denoSpawner, DeviceError, type Spawner } from "./transport.ts";
import { parseSerialUrl, SerialTransport } from "./serial.ts";
import { startHostBoard } from "../tests/rigs/host_board.ts";
import { startSerialMitm } from "../tests/rigs/serial_mitm.ts";
import { FRAME } from "./_serial_protocol.ts";
import { opCases } from "../core/sim/_op_cases_test_util.ts";
import { writeArtifact } from "../targets/native/writer.ts";

const decode = (b: Uint8Array) => new TextDecoder().decode(b);
const bytesOf = (n: number, salt = 0) => Uint8Array.from({ length: n }, (_, i) => (i * 2654435761 + salt) >>> 24);

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

Deno.test("serial:// URLs: defaults, parameters, and the errors of bad ones", () => {
  assert.deepEqual(parseSerialUrl("serial:///dev/ttyUSB0"), {
    path: "/dev/ttyUSB0",
    baud: 115200,
    retries: 5,
    timeoutMs: 2000,
    window: 4,
  });
  const s = parseSerialUrl("serial:///dev/pts/3?baud=921600&retries=3&timeout=500&window=2");
  assert.deepEqual([s.baud, s.retries, s.timeoutMs, s.window], [921600, 3, 500, 2]);
  assert.equal(openTransport("serial:///dev/ttyACM0?baud=9600").url, "serial:///dev/ttyACM0");
  for (const bad of ["serial://host/dev/tty", "serial:///dev/tty?baud=fast", "serial:///dev/tty?parity=even"]) {
    assert.throws(() => parseSerialUrl(bad), (e) => e instanceof DeviceError && e.kind === "url");
  }
});

Deno.test("the line is set up with stty through the spawner; push, pull and exec; their errors", async () => {
  const board = await startHostBoard();
  const calls: string[][] = [];
  const spawner: Spawner = (command, args, options) => {
    calls.push([command, ...args]);
    return denoSpawner(command, args, options);
  };
  const t = openTransport(board.url, { spawner }) as SerialTransport;
  try {
    await t.connect();
    assert.deepEqual(calls, [["stty", "-F", board.pty, "115200", "raw", "-echo", "min", "0", "time", "1"]]);
    assert.deepEqual(await t.info(), {
      arch: "x86_64-host",
      cpuModel: "x86_64-host at 1000 MHz (qm-fw 2.0)",
      cores: 1,
      os: "qm-fw/2.0",
    });
    const data = bytesOf(50_000);
    const pushed = await t.push(data, "blob.bin");
    assert.equal(pushed.bytes, 50_000);
    assert.equal(pushed.resumedFrom, 0);
    assert.deepEqual(await t.pull("blob.bin"), data);
    const empty = await t.push(new Uint8Array(), "empty");
    assert.equal(empty.sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert.equal((await t.pull("empty")).length, 0);
    const sha = await t.exec(["sha256", "blob.bin"]);
    assert.equal(decode(sha.stdout), `${pushed.sha256}  blob.bin\n`);
    assert.match(decode((await t.exec(["ls"])).stdout), /^50000 complete blob\.bin\n0 complete empty\n$/);
    const unknown = await rejectsWith(t.exec(["reboot"]), "exit", /exited with 127: qm-fw: reboot: command not found/);
    assert.equal(unknown.code, 127);
    assert.equal((await t.exec(["rm", "nothing"], { check: false })).code, 66);
    await rejectsWith(t.exec(["ls"], { cwd: "/tmp" }), "exit", /no working directory/);
    await rejectsWith(t.pull("nothing"), "exit", /cannot pull nothing: no such file/);
    await rejectsWith(t.push(data, "x".repeat(48)), "protocol", /board file name/);
    await t.exec(["rm", "blob.bin"]);
    assert.equal((await t.stat("blob.bin")).state, "none");
    assert.equal(t.stats.retransmits, 0);
  } finally {
    await t.close();
    await t.close();
    await board.stop();
  }
});

Deno.test("no device, a silent line and another protocol version are refused clearly", async () => {
  await rejectsWith(new SerialTransport("serial:///dev/no-such-tty").connect(), "unreachable", /no-such-tty/);
  // A pty pair with nothing behind it: HELLO goes unanswered.
  const socat = new Deno.Command("socat", {
    args: ["-d", "-d", "pty,raw,echo=0", "pty,raw,echo=0"],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const log = socat.stderr.getReader();
  try {
    let text = "";
    while (!/PTY is \S+[\s\S]*PTY is \S+/.test(text)) text += decode((await log.read()).value!);
    const pty = text.match(/PTY is (\S+)/)![1]!;
    await rejectsWith(
      new SerialTransport(`serial://${pty}?retries=2&timeout=100`).connect(),
      "unreachable",
      /no board answered HELLO \(2 tries, 100 ms each\)/,
    );
  } finally {
    socat.kill("SIGKILL");
    await socat.status;
    await log.cancel();
  }
  const future = await startHostBoard({ announceMajor: 3 });
  try {
    await rejectsWith(
      new SerialTransport(future.url).connect(),
      "protocol",
      /speaks qm-fw protocol 3\.0, this host 2\.0/,
    );
  } finally {
    await future.stop();
  }
});

Deno.test("a board that stores other bytes than it was sent fails the push with verify", async () => {
  const board = await startHostBoard({ fault: "corrupt-store" });
  const t = new SerialTransport(board.url);
  try {
    await rejectsWith(
      t.push(bytesOf(3000), "m.qm"),
      "verify",
      /m\.qm on the board \(3000 bytes, sha256 [0-9a-f]{64}\) differs/,
    );
  } finally {
    await t.close();
    await board.stop();
  }
});

Deno.test("lost DATA frames, lost ACKs and a lost EXEC result are sent again; a duplicate EXEC is not run twice", async () => {
  const board = await startHostBoard();
  let data = 0, acks = 0, results = 0;
  const mitm = await startSerialMitm(board.pty, (f) => {
    if (f.direction === "to-board" && f.type === FRAME.DATA && [2, 5].includes(data++)) return "drop";
    if (f.direction === "to-host" && f.type === FRAME.ACK && [7, 8].includes(acks++)) return "drop";
    if (f.direction === "to-host" && f.type === FRAME.EXEC_RESULT && results++ === 0) return "drop";
    return "pass";
  });
  const t = new SerialTransport(`serial://${mitm.hostPty}?timeout=300`);
  try {
    const bytes = bytesOf(20_000, 7);
    await t.push(bytes, "a");
    assert.deepEqual(await t.pull("a"), bytes);
    // `rm a` twice would fail (66, no such file): the repeat is answered from the board's memory.
    const rm = await t.exec(["rm", "a"]);
    assert.equal(rm.code, 0);
    assert.equal((await t.stat("a")).state, "none");
    assert.equal(mitm.counts.dropped, 5);
    assert.ok(t.stats.retransmits >= 5, JSON.stringify(t.stats));
  } finally {
    await t.close();
    await mitm.stop();
    await board.stop();
  }
});

Deno.test("exec timeouts: a run is aborted between inferences; a board spinning without reading is hung", async () => {
  const board = await startHostBoard();
  const t = new SerialTransport(`${board.url}&timeout=300`);
  try {
    const c = opCases(3).find((k) => k.name.startsWith("conv 3x3 stride 2"))!;
    const input = c.inputs[0]!;
    await t.push(writeArtifact(c.program), "m.qm");
    await t.push(new Uint8Array(input.buffer, input.byteOffset, input.byteLength), "in");
    await rejectsWith(
      t.exec(["run", "m.qm", "in", "out", "--runs", "100000000"], { timeoutMs: 400 }),
      "timeout",
      /timed out after 400 ms; the board aborted it/,
    );
    assert.equal((await t.stat("out")).state, "none");
    assert.match(
      decode((await t.exec(["run", "m.qm", "in", "out"])).stdout),
      /^cycles=\d+ runs=1 samples=1 status=0\n$/,
    );
    await rejectsWith(
      t.exec(["busy", "1500"], { timeoutMs: 300 }),
      "timeout",
      /timed out after 300 ms, and the board did not answer ABORT either: it is hung/,
    );
  } finally {
    await t.close();
    await board.stop();
  }
});
