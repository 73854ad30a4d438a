/**
 * adb:// end to end: the real adb server and a real adbd (tests/rigs/adbd.ts)
 * on an emulated aarch64 "phone". Faults are real too: a wrong serial, no
 * server, adbd killed in the middle of a push, a lying `sha256sum` placed
 * first on the device's PATH, a command past its timeout.
 */

import assert from "node:assert/strict";
import { AdbTransport, openAdb } from "../devices/adb.ts";
import { denoSpawner, DeviceError, sha256Hex, type Spawner } from "../devices/transport.ts";
import { type AdbRig, startAdbRig } from "./rigs/adbd.ts";

const decode = (b: Uint8Array) => new TextDecoder().decode(b);

/** The DeviceError a call rejects with (fails the test when it resolves or throws something else). */
async function deviceError(call: () => Promise<unknown>): Promise<DeviceError> {
  try {
    await call();
  } catch (e) {
    assert.ok(e instanceof DeviceError, `expected a DeviceError, got ${e}`);
    return e;
  }
  assert.fail("expected a DeviceError, but the call succeeded");
}

/** Deterministic pseudo-random bytes (xorshift32), so a failure can be reproduced. */
function noise(length: number, seed = 0x9e3779b9): Uint8Array {
  const out = new Uint8Array(length);
  const view = new DataView(out.buffer);
  let x = seed >>> 0;
  for (let i = 0; i + 4 <= length; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    view.setUint32(i, x >>> 0);
  }
  return out;
}

async function withRig(fn: (rig: AdbRig, t: AdbTransport) => Promise<void>): Promise<void> {
  const rig = await startAdbRig();
  const t = openAdb(new URL(rig.url), {});
  try {
    await t.connect();
    await fn(rig, t);
  } finally {
    await t.close();
    await rig.stop();
  }
}

/** True once /proc shows the PID gone or a zombie (its parent, the host's init, reaps it later). */
function ended(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}

Deno.test("adb: connect, info, push 5 MB verified, pull, exec streams and codes, an aarch64 binary", async () => {
  await withRig(async (rig, t) => {
    assert.ok(t.shellV2, "adbd 34 and adb 1.0.41 both have shell_v2");

    const info = await t.info();
    assert.match(info.os ?? "", /^Linux /);
    assert.ok((info.cores ?? 0) >= 1);
    assert.match(info.cpuModel ?? "", /Cortex-A76/); // tests/rigs/arm64_cpuinfo.txt: part 0xd0b

    // push: 5 MB, SHA-256 computed by the device's sha256sum, equal to ours; the bytes really arrived.
    const data = noise(5 << 20);
    const remote = `${rig.deviceDir}/int8/a b/model.bin`;
    const pushed = await t.push(data, remote);
    assert.deepEqual(pushed, { remote, bytes: data.length, sha256: await sha256Hex(data), ms: pushed.ms });
    assert.deepEqual(await sha256Hex(await Deno.readFile(remote)), pushed.sha256);
    const pulled = await t.pull(remote);
    assert.deepEqual(pulled.length, data.length);
    assert.deepEqual(await sha256Hex(pulled), pushed.sha256);

    // exec: stdout, stderr and the code arrive separately.
    const r = await t.exec(["sh", "-c", "echo out; echo err >&2; exit 7"], { check: false });
    assert.deepEqual([decode(r.stdout), decode(r.stderr), r.code], ["out\n", "err\n", 7]);
    const e = await deviceError(() => t.exec(["sh", "-c", "echo out; echo 'no such model' >&2; exit 3"]));
    assert.deepEqual([e.kind, e.code, e.stdout, e.stderr], ["exit", 3, "out\n", "no such model\n"]);
    assert.match(e.message, /exited with 3: no such model/);
    // Output without a trailing newline, quoting, cwd and env survive the trip.
    const q = await t.exec(["sh", "-c", 'printf %s "$A|$(pwd)|$1"', "sh", "it's  a $x"], {
      cwd: `${rig.deviceDir}/int8/a b`,
      env: { A: "x y'z" },
    });
    assert.deepEqual(decode(q.stdout), `x y'z|${rig.deviceDir}/int8/a b|it's  a $x`);

    // An aarch64 program, compiled here, runs on the "phone" (through qemu-user there).
    const dir = await Deno.makeTempDir({ prefix: "adb-test." });
    try {
      await Deno.writeTextFile(
        `${dir}/probe.c`,
        `#include <stdio.h>
#include <sys/utsname.h>
int main(int argc, char **argv) {
  struct utsname u; uname(&u);
  int acc = 0; for (int i = -128; i < 128; i++) acc += (signed char)i * (signed char)(i ^ 0x55);
  printf("%s %d %s\\n", u.machine, acc, argc > 1 ? argv[1] : "");
  return 42;
}
`,
      );
      const cc = await new Deno.Command("aarch64-linux-gnu-gcc", {
        args: ["-static", "-O2", "-o", `${dir}/probe`, `${dir}/probe.c`],
      }).output();
      assert.ok(cc.success, decode(cc.stderr));
      await t.push({ path: `${dir}/probe` }, `${rig.deviceDir}/bin/probe`, { mode: 0o755 });
      const run = await t.exec(["probe", "int8 ok"], { check: false, timeoutMs: 30_000 });
      assert.deepEqual(run.code, 42);
      // The machine name proves it ran as aarch64; the int8 sum is the one computed here.
      let sum = 0;
      for (let i = -128; i < 128; i++) sum += ((i << 24) >> 24) * (((i ^ 0x55) << 24) >> 24);
      assert.deepEqual(decode(run.stdout), `aarch64 ${sum} int8 ok\n`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }

    // Rates (printed, never asserted): 32 MiB each way, including the device-side SHA-256.
    const big = noise(32 << 20, 7);
    const pushStart = performance.now();
    await t.push(big, `${rig.deviceDir}/big.bin`);
    const pushMs = performance.now() - pushStart;
    const pullStart = performance.now();
    const back = await t.pull(`${rig.deviceDir}/big.bin`);
    const pullMs = performance.now() - pullStart;
    assert.deepEqual(back.length, big.length);
    const rate = (ms: number) => `${(big.length / 1e6 / (ms / 1000)).toFixed(0)} MB/s`;
    console.log(
      `adb rig, 32 MiB: push+verify ${pushMs.toFixed(0)} ms (${rate(pushMs)}), pull ${pullMs.toFixed(0)} ms (${
        rate(pullMs)
      })`,
    );
  });
});

Deno.test("adb: info from getprop when the device has it (an Android-like property store on the PATH)", async () => {
  await withRig(async (rig) => {
    // A stand-in for Android's getprop: the rig's adbd has none, as Debian has none.
    await Deno.writeTextFile(
      `${rig.deviceDir}/bin/getprop`,
      `#!/bin/sh\ncase "$1" in ro.product.model) echo "Pixel 7";; ro.build.version.release) echo 14;; ro.product.cpu.abi) echo arm64-v8a;; esac\n`,
      { mode: 0o755 },
    );
    const t = openAdb(new URL(rig.url), {});
    await t.connect();
    try {
      const info = await t.info();
      assert.deepEqual([info.os, info.arch], ["Android 14 (Pixel 7)", "aarch64"]);
    } finally {
      await t.close();
    }
  });
});

Deno.test("adb: a device without shell_v2 (feature hidden) runs through exec-out and the exit marker", async () => {
  await withRig(async (rig) => {
    // Simulates an adbd older than Android 7: the real `adb features` answer, minus shell_v2.
    const hideShellV2: Spawner = (command, args, options) => {
      const proc = denoSpawner(command, args, options);
      if (args.at(-1) !== "features") return proc;
      const strip = new TransformStream<Uint8Array, Uint8Array>({
        transform: (chunk, out) => out.enqueue(new TextEncoder().encode(decode(chunk).replace("shell_v2", "x"))),
      });
      return {
        pid: proc.pid,
        stdin: proc.stdin,
        stdout: proc.stdout.pipeThrough(strip),
        stderr: proc.stderr,
        status: proc.status,
        kill: (signal) => proc.kill(signal),
      };
    };
    const t = openAdb(new URL(rig.url), { spawner: hideShellV2 });
    await t.connect();
    try {
      assert.equal(t.shellV2, false);
      const r = await t.exec(["sh", "-c", "printf out; exit 7"], { check: false });
      assert.deepEqual([decode(r.stdout), r.code], ["out", 7]);
      const merged = await t.exec(["sh", "-c", "echo out; echo err >&2"]);
      assert.deepEqual(decode(merged.stdout).split("\n").sort(), ["", "err", "out"]);
      const pushed = await t.push(noise(1 << 20), `${rig.deviceDir}/m.bin`);
      assert.equal(pushed.bytes, 1 << 20);
    } finally {
      await t.close();
    }
  });
});

Deno.test("adb: unreachable — wrong serial, no server at a TCP port, no server at a socket path", async () => {
  await withRig(async (rig) => {
    const wrong = openAdb(new URL(`adb://no-such-phone?server=${rig.serverSpec}`), {});
    const e1 = await deviceError(() => wrong.connect());
    assert.deepEqual(e1.kind, "unreachable");
    assert.match(e1.message, /device 'no-such-phone' not found/);
  });
  // A free port on 127.0.0.1: adb must not start a server for it (non-local spec), just fail.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const noServer = openAdb(new URL(`adb://x?server=tcp:localhost:${port}`), {});
  const e2 = await deviceError(() => noServer.connect());
  assert.deepEqual(e2.kind, "unreachable");
  assert.match(e2.message, /cannot connect to daemon at tcp:127\.0\.0\.1:\d+/);
  const noSocket = openAdb(new URL("adb://x?server=localfilesystem:/nonexistent-adb-rig/adb.sock"), {});
  const e3 = await deviceError(() => noSocket.connect());
  assert.deepEqual(e3.kind, "unreachable");
  assert.match(e3.message, /no adb server at localfilesystem:/);
  // Nothing was started in their place.
  await assert.rejects(() => Deno.connect({ hostname: "127.0.0.1", port }));
});

Deno.test("adb: a device-side sha256sum that lies makes push fail with kind verify", async () => {
  await withRig(async (rig, t) => {
    // Fault injection on the device: <deviceDir>/bin is first on adbd's PATH (tests/rigs/adbd.ts).
    await Deno.writeTextFile(
      `${rig.deviceDir}/bin/sha256sum`,
      `#!/bin/sh\necho "${"0".repeat(64)}  $1"\n`,
      { mode: 0o755 },
    );
    const data = noise(100_000, 3);
    const remote = `${rig.deviceDir}/m.bin`;
    const e = await deviceError(() => t.push(data, remote));
    assert.deepEqual(e.kind, "verify");
    assert.match(e.message, /SHA-256 0{64}, expected [0-9a-f]{64}/);
    // The bytes did arrive intact: only the checker lied.
    assert.deepEqual(await sha256Hex(await Deno.readFile(remote)), await sha256Hex(data));
  });
});

Deno.test("adb: a command past its timeout is killed on the device too", async () => {
  await withRig(async (rig, t) => {
    const pidFile = `${rig.deviceDir}/sleeper.pid`;
    const started = performance.now();
    const e = await deviceError(() => t.exec(["sh", "-c", `echo $$ > ${pidFile}; exec sleep 60`], { timeoutMs: 1500 }));
    assert.deepEqual(e.kind, "timeout");
    assert.match(e.message, /ran past 1500 ms and was killed \(remote PID \d+\)/);
    assert.ok(performance.now() - started < 15_000);
    const pid = Number((await Deno.readTextFile(pidFile)).trim());
    const deadline = Date.now() + 5000;
    while (!ended(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(ended(pid), `remote sleep (PID ${pid}) still runs`);
    // The transport is still usable afterwards.
    assert.deepEqual(decode((await t.exec(["echo", "still here"])).stdout), "still here\n");
  });
});

Deno.test("adb: adbd killed in the middle of a push → disconnected, never success", async () => {
  await withRig(async (rig, t) => {
    const dir = await Deno.makeTempDir({ prefix: "adb-test." });
    try {
      const local = `${dir}/big.bin`;
      await Deno.writeFile(local, noise(256 << 20, 11));
      const remote = `${rig.deviceDir}/big.bin`;
      // Pull the plug as soon as the first bytes land on the device.
      let killedAt = -1;
      const watcher = (async () => {
        const deadline = Date.now() + 30_000;
        while (Date.now() < deadline) {
          const size = await Deno.stat(remote).then((s) => s.size, () => 0);
          if (size > 0) {
            killedAt = size;
            Deno.kill(rig.adbdPid, "SIGKILL");
            return;
          }
          await new Promise((r) => setTimeout(r, 1));
        }
      })();
      const e = await deviceError(() => t.push({ path: local }, remote));
      await watcher;
      assert.ok(killedAt > 0 && killedAt < 256 << 20, `adbd was killed after ${killedAt} bytes`);
      assert.deepEqual(e.kind, "disconnected", e.message);
      console.log(`killed adbd after ${killedAt} bytes: ${e.message}`);
      // Later calls say so too.
      const after = await deviceError(() => t.exec(["true"]));
      assert.deepEqual(after.kind, "disconnected");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});
