// local:// with the real spawner (real files, real processes), and with an injected fake spawner: the one
// place a mock is used, to prove the transport runs commands through the spawner it is given.
import assert from "node:assert/strict";
import { openTransport } from "./mod.ts";
import { DeviceError, type SpawnedProcess, type Spawner } from "./transport.ts";
import { LocalTransport } from "./local.ts";

const decode = (b: Uint8Array) => new TextDecoder().decode(b);

/** PIDs of live processes whose argv is exactly `argv`. */
function processesWithArgv(argv: string[]): number[] {
  const wanted = argv.join("\0") + "\0";
  const found: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      if (Deno.readTextFileSync(`/proc/${entry.name}/cmdline`) === wanted) found.push(Number(entry.name));
    } catch {
      // gone
    }
  }
  return found;
}

function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  return out;
}

async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "local-transport-test." });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("push writes atomically under the base dir with its mode, verifies, and pull reads it back", async () => {
  await withTemp(async (dir) => {
    const t = openTransport(`local://${dir}/base`);
    await t.connect();
    const data = randomBytes(300_000);
    const r = await t.push(data, "a/b/runner", { mode: 0o755 });
    assert.equal(r.remote, `${dir}/base/a/b/runner`);
    assert.equal(r.bytes, data.length);
    assert.match(r.sha256, /^[0-9a-f]{64}$/);
    assert.equal((await Deno.stat(r.remote)).mode! & 0o777, 0o755);
    assert.deepEqual([...Deno.readDirSync(`${dir}/base/a/b`)].map((e) => e.name), ["runner"]); // no temp left
    assert.deepEqual(await t.pull("a/b/runner"), data);
    await Deno.writeFile(`${dir}/src.bin`, data.subarray(0, 10));
    assert.equal((await t.push({ path: `${dir}/src.bin` }, `${dir}/abs.bin`)).bytes, 10);
    await assert.rejects(
      t.pull("missing.bin"),
      (e: DeviceError) => e.kind === "exit" && /missing\.bin/.test(e.message),
    );
    await t.close();
  });
});

Deno.test("exec: separate stdout/stderr, the exit code, cwd and env; a failure carries its stderr", async () => {
  await withTemp(async (dir) => {
    const t = new LocalTransport({ baseDir: dir });
    const r = await t.exec(["sh", "-c", 'echo "out $X $(pwd)"; echo err >&2; exit 3'], {
      env: { X: "x y" },
      check: false,
    });
    assert.equal(decode(r.stdout), `out x y ${dir}\n`);
    assert.equal(decode(r.stderr), "err\n");
    assert.equal(r.code, 3);
    await assert.rejects(t.exec(["sh", "-c", "echo boom >&2; exit 5"]), (e: DeviceError) => {
      assert.equal(e.kind, "exit");
      assert.equal(e.code, 5);
      assert.match(e.message, /exited with 5: boom/);
      return true;
    });
    await assert.rejects(t.exec(["no-such-command-xyz"]), (e: DeviceError) => e.kind === "exit" && e.code === 127);
    const signalled = await t.exec(["sh", "-c", "kill -KILL $$"], { check: false });
    assert.equal(signalled.code, 137);
  });
});

Deno.test("a command past its timeout is killed with the processes it started", async () => {
  const t = new LocalTransport();
  const started = performance.now();
  // The shell is the direct child; the sleep it starts in the background is a grandchild.
  await assert.rejects(
    t.exec(["sh", "-c", "sleep 100.4242 & sleep 100.4243; wait"], { timeoutMs: 300 }),
    (e: DeviceError) => e.kind === "timeout" && /300 ms timeout/.test(e.message),
  );
  assert.ok(performance.now() - started < 3_000);
  for (let i = 0; i < 50 && processesWithArgv(["sleep", "100.4242"]).length > 0; i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.deepEqual(processesWithArgv(["sleep", "100.4242"]), []);
  assert.deepEqual(processesWithArgv(["sleep", "100.4243"]), []);
});

Deno.test("info() describes this host", async () => {
  const info = await openTransport("local://").info();
  assert.equal(info.arch, { x86_64: "x86_64", aarch64: "aarch64" }[Deno.build.arch]);
  assert.ok(info.cores !== null && info.cores >= 1);
  assert.match(info.os ?? "", /^Linux /);
  assert.ok(info.cpuModel);
  assert.throws(() => openTransport("local://somehost/x"), (e: DeviceError) => e.kind === "url");
});

/** A fake process: prints what it is told, exits with `code` — or, when `code` is null, only when killed. */
function fakeProcess(stdout: string, code: number | null, onKill: (s?: Deno.Signal) => void): SpawnedProcess {
  let exit!: (s: { code: number; signal: string | null }) => void;
  const status = new Promise<{ code: number; signal: string | null }>((resolve) => (exit = resolve));
  const stream = (text: string, closed: Promise<unknown>) =>
    new ReadableStream<Uint8Array>({
      async start(controller) {
        if (text) controller.enqueue(new TextEncoder().encode(text));
        await closed;
        controller.close();
      },
    });
  if (code !== null) exit({ code, signal: null });
  return {
    pid: 2 ** 22 + 17, // beyond Linux's default pid_max: never a real process
    stdin: new WritableStream(),
    stdout: stream(stdout, status),
    stderr: stream("", status),
    status,
    kill(signal) {
      onKill(signal);
      exit({ code: 137, signal: "SIGKILL" });
    },
  };
}

Deno.test("the transport runs commands and info() through the injected spawner", async () => {
  const calls: { command: string; args: readonly string[]; options: unknown }[] = [];
  const kills: (Deno.Signal | undefined)[] = [];
  const spawner: Spawner = (command, args, options) => {
    calls.push({ command, args, options });
    if (command === "sh" && args[0] === "-c" && args[1]?.includes("@cpuinfo")) {
      return fakeProcess("@arch\nriscv64\n@kernel\nLinux 6.6.0\n@cores\n4\n@os-release\n@cpuinfo\n", 0, () => {});
    }
    if (command === "hang") return fakeProcess("", null, (s) => kills.push(s));
    return fakeProcess("hello from the fake\n", 0, () => {});
  };
  const t = openTransport("local:///board/dir", { spawner });
  const r = await t.exec(["runner", "--model", "m.onnx"], { env: { A: "1" } });
  assert.equal(decode(r.stdout), "hello from the fake\n");
  assert.deepEqual(calls[0], {
    command: "runner",
    args: ["--model", "m.onnx"],
    options: { cwd: "/board/dir", env: { A: "1" } },
  });
  assert.deepEqual(await t.info(), { arch: "riscv64", cpuModel: null, cores: 4, os: "Linux 6.6.0" });
  await assert.rejects(t.exec(["hang"], { timeoutMs: 50 }), (e: DeviceError) => e.kind === "timeout");
  assert.deepEqual(kills, ["SIGKILL"]);
  assert.equal(calls.length, 3);
});
