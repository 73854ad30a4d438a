// The exit-code plumbing of adb:// with an injected Spawner standing in for the adb client (the only
// mocks in the ADB tests; tests/adb_transport_test.ts runs the real server and adbd): shell v2 and
// marker mode, a stream cut before the exit status, the unreachable and timeout paths.
import assert from "node:assert/strict";
import { openAdb, parseExecOutput, serverArgs } from "./adb.ts";
import { DeviceError, type SpawnedProcess, type Spawner } from "./transport.ts";

const encode = (s: string) => new TextEncoder().encode(s);
const decode = (b: Uint8Array) => new TextDecoder().decode(b);

/** What the fake adb answers: stdout, stderr, exit code; `hang` keeps it running until killed. */
interface Reply {
  stdout?: string;
  stderr?: string;
  code?: number;
  hang?: boolean;
}

/** A Spawner whose "adb" answers from `reply(args, script nonce)`, recording every call. */
function fakeAdb(reply: (args: string[], nonce: string | null) => Reply): { spawner: Spawner; calls: string[][] } {
  const calls: string[][] = [];
  const spawner: Spawner = (command, args) => {
    assert.equal(command, "adb");
    calls.push([...args]);
    const nonce = /__EXIT_([0-9a-f]+)=/.exec(args.at(-1) ?? "")?.[1] ?? null;
    const r = reply([...args], nonce);
    let killed: (signal: string) => void = () => {};
    const killedP = new Promise<string>((resolve) => killed = resolve);
    const stream = (text: string, hang: boolean) =>
      new ReadableStream<Uint8Array>({
        async start(controller) {
          if (text) controller.enqueue(encode(text));
          if (hang) await killedP;
          controller.close();
        },
      });
    const hang = r.hang === true;
    const proc: SpawnedProcess = {
      pid: 0,
      stdin: new WritableStream(),
      stdout: stream(r.stdout ?? "", hang),
      stderr: stream(r.stderr ?? "", hang),
      status: hang
        ? killedP.then((signal) => ({ code: 137, signal }))
        : Promise.resolve({ code: r.code ?? 0, signal: null }),
      kill: (signal = "SIGTERM") => killed(signal),
    };
    return proc;
  };
  return { spawner, calls };
}

/** The replies of a healthy device for connect(); `v2` says whether it has shell_v2. */
function connectReply(args: string[], v2: boolean): Reply | null {
  if (args.includes("get-state")) return { stdout: "device\n" };
  if (args.includes("features")) return { stdout: v2 ? "shell_v2\ncmd\nstat_v2\n" : "cmd\n" };
  if (args.includes("host-features")) return { stdout: "shell_v2,cmd,stat_v2" };
  return null;
}

Deno.test("adb exec, shell v2: stdout, stderr and the code come apart; the PID line and the marker are removed", async () => {
  const { spawner, calls } = fakeAdb((args, nonce) =>
    connectReply(args, true) ?? { stdout: `4242\nhello\n\n__EXIT_${nonce}=7\n`, stderr: "warn\n", code: 7 }
  );
  const t = openAdb(new URL("adb://R58M1?server=tcp:127.0.0.1:5038"), { spawner });
  await t.connect();
  assert.equal(t.shellV2, true);
  const r = await t.exec(["./runner", "--model", "a b.onnx"], { check: false, cwd: "/data/local/tmp" });
  assert.deepEqual([decode(r.stdout), decode(r.stderr), r.code], ["hello\n", "warn\n", 7]);
  const last = calls.at(-1)!;
  assert.deepEqual(last.slice(0, 7), ["-L", "tcp:127.0.0.1:5038", "-s", "R58M1", "shell", "-T", last[6]]);
  assert.match(
    last[6]!,
    /^echo \$\$; cd \/data\/local\/tmp && \.\/runner --model 'a b\.onnx'; printf '\\n__EXIT_[0-9a-f]+=%d\\n' \$\?$/,
  );
  // check (the default) turns the code into an `exit` error carrying the output.
  const e = await t.exec(["false"]).catch((e) => e);
  assert.ok(e instanceof DeviceError);
  assert.deepEqual([e.kind, e.code, e.stderr], ["exit", 7, "warn\n"]);
  assert.match(e.message, /^adb:\/\/R58M1\?server=tcp:127\.0\.0\.1:5038: `false` exited with 7: warn$/);
});

Deno.test("adb exec, marker mode (no shell_v2): exec-out, the code from the marker, output without a final newline", async () => {
  const { spawner, calls } = fakeAdb((args, nonce) =>
    connectReply(args, false) ?? { stdout: `99\nno newline at end\n__EXIT_${nonce}=3\n`, code: 0 }
  );
  const t = openAdb(new URL("adb://"), { spawner });
  await t.connect();
  assert.equal(t.shellV2, false);
  const r = await t.exec(["sh", "-c", "printf 'no newline at end'; exit 3"], { check: false });
  assert.deepEqual([decode(r.stdout), r.code], ["no newline at end", 3]);
  assert.deepEqual(calls.at(-1)!.slice(0, 3), ["-H", "127.0.0.1", "exec-out"]);
});

Deno.test("adb exec: a stream cut before the exit status is never a success", async () => {
  // adb 1.0.41 exits 0 when a shell-v2 stream ends without the exit packet.
  let gone = false;
  const { spawner } = fakeAdb((args) => {
    if (args.includes("get-state") && gone) return { stderr: "error: device offline\n", code: 1 };
    const c = connectReply(args, true);
    if (c) return c;
    gone = true;
    return { stdout: "4242\npartial out", code: 0 };
  });
  const t = openAdb(new URL("adb://emulator-5554"), { spawner });
  await t.connect();
  const e = await t.exec(["./runner"], { check: false }).catch((e) => e);
  assert.ok(e instanceof DeviceError);
  assert.equal(e.kind, "disconnected");
});

Deno.test("adb exec: the shell itself killed (no marker, device still there) reports shell v2's 128 + signal", async () => {
  const { spawner } = fakeAdb((args) => connectReply(args, true) ?? { stdout: "4242\n", code: 137 });
  const t = openAdb(new URL("adb://emulator-5554"), { spawner });
  await t.connect();
  const r = await t.exec(["./runner"], { check: false });
  assert.equal(r.code, 137);
});

Deno.test("adb connect: adb's own message for a missing device or server → unreachable", async () => {
  for (
    const stderr of [
      "error: device 'nope' not found\n",
      "error: device unauthorized.\nThis adb server's $ADB_VENDOR_KEYS is not set\n",
      "adb W 11-23 21:33:43 32213 32213 network.cpp:150] failed to connect to '127.0.0.1:5037': Connection refused\n" +
      "* cannot start server on remote host\n" +
      "adb: failed to check server version: cannot connect to daemon at tcp:127.0.0.1:5037: Connection refused\n",
    ]
  ) {
    const { spawner } = fakeAdb(() => ({ stderr, code: 1 }));
    const e = await openAdb(new URL("adb://nope"), { spawner }).connect().catch((e) => e);
    assert.ok(e instanceof DeviceError);
    assert.equal(e.kind, "unreachable");
    assert.ok(e.message.includes(stderr.trim().split("\n").at(-1)!), e.message);
    assert.ok(!e.message.includes("network.cpp"), "adb's log lines are dropped");
  }
});

Deno.test("adb exec timeout: the local adb is killed, then the remote process group by the PID it printed", async () => {
  const { spawner, calls } = fakeAdb((args) =>
    connectReply(args, true) ??
      (args.some((a) => a.startsWith("kill -9")) ? { stdout: "killed\n" } : { stdout: "4242\n", hang: true })
  );
  const t = openAdb(new URL("adb://emulator-5554"), { spawner });
  await t.connect();
  const e = await t.exec(["sleep", "60"], { timeoutMs: 50 }).catch((e) => e);
  assert.ok(e instanceof DeviceError);
  assert.equal(e.kind, "timeout");
  assert.match(e.message, /ran past 50 ms and was killed \(remote PID 4242\)/);
  assert.match(calls.at(-1)!.at(-1)!, /^kill -9 -4242 /);
});

Deno.test("adb helpers: server specs never let adb start a server; exec output parsing", () => {
  assert.deepEqual(serverArgs(null), ["-H", "127.0.0.1"]);
  assert.deepEqual(serverArgs("tcp:5038"), ["-L", "tcp:127.0.0.1:5038"]);
  assert.deepEqual(serverArgs("tcp:localhost:5038"), ["-L", "tcp:127.0.0.1:5038"]);
  assert.deepEqual(serverArgs("tcp:10.0.0.2:5037"), ["-L", "tcp:10.0.0.2:5037"]);
  const p = parseExecOutput(encode("7\nline\n\n__EXIT_ab=0\n"), "ab");
  assert.deepEqual([p.pid, decode(p.stdout), p.code], [7, "line\n", 0]);
  const fake = parseExecOutput(encode("7\n__EXIT_ab=5\nmore\n"), "ab");
  assert.equal(fake.code, null, "a marker-like line that is not last is output, not the status");
  assert.throws(() => openAdb(new URL("adb://x/path"), {}), DeviceError);
  assert.throws(() => openAdb(new URL("adb://x?port=1"), {}), DeviceError);
});
