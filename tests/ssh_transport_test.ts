// ssh:// against a real OpenSSH sshd (tests/rigs/sshd.ts), mostly on the emulated arm64 board: a 5 MB push
// verified by SHA-256 on the device and pulled back, commands with their output and exit codes, an aarch64
// binary; and the faults: refused connection, unknown / changed host keys, a bad key, a device whose
// `sha256sum` damages or misreports the file (fault injection by the rig), sshd killed mid-push and
// mid-command, a command past its timeout. Each fault must be a DeviceError of its kind; none may pass.
import assert from "node:assert/strict";
import { DeviceError, type OpenOptions, openTransport, sha256Hex, type Transport } from "../devices/mod.ts";
import { compileAarch64, type SshdRig, type SshdRigOptions, startSshd } from "./rigs/sshd.ts";

const decode = (b: Uint8Array) => new TextDecoder().decode(b);

function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  return out;
}

/** PIDs of live processes whose argv is exactly `argv` (the board shares the host's PID namespace). */
function processesWithArgv(argv: string[]): number[] {
  const wanted = argv.join("\0") + "\0";
  return [...Deno.readDirSync("/proc")].filter((e) => /^\d+$/.test(e.name)).filter((e) => {
    try {
      return Deno.readTextFileSync(`/proc/${e.name}/cmdline`) === wanted;
    } catch {
      return false;
    }
  }).map((e) => Number(e.name));
}

async function eventually(check: () => boolean, ms = 3_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

/** Starts a rig, runs `fn` with it and a connected-on-demand transport factory, ends everything. */
async function withRig(
  options: SshdRigOptions,
  fn: (rig: SshdRig, open: (extra?: OpenOptions) => Transport) => Promise<void>,
): Promise<void> {
  const rig = await startSshd(options);
  const transports: Transport[] = [];
  try {
    await fn(rig, (extra = {}) => {
      const t = openTransport(rig.url, { identity: rig.identity, knownHosts: rig.knownHosts, ...extra });
      transports.push(t);
      return t;
    });
  } finally {
    for (const t of transports) await t.close();
    await rig.stop();
  }
}

function isDeviceError(kind: DeviceError["kind"], pattern?: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof DeviceError, `expected a DeviceError, got ${e}`);
    assert.equal(e.kind, kind, e.message);
    if (pattern) assert.match(e.message, pattern);
    return true;
  };
}

const HELLO_C = `#include <stdio.h>
#include <sys/utsname.h>
int main(int argc, char **argv) {
  struct utsname u; uname(&u);
  printf("hello from %s: %s\\n", u.machine, argc > 1 ? argv[1] : "");
  fprintf(stderr, "to stderr\\n");
  return 7;
}
`;

Deno.test("ssh:// on the arm64 board: info, 5 MB push verified on the device, pull, exec, an aarch64 binary, timeout", async () => {
  const local = await Deno.makeTempDir({ prefix: "ssh-transport-test." });
  try {
    await withRig({ board: "arm64" }, async (rig, open) => {
      const t = open();
      await t.connect();
      assert.equal(t.url, rig.url);

      const info = await t.info();
      assert.equal(info.arch, "aarch64");
      assert.equal(info.cpuModel, "ARM Cortex-A76"); // the board's /proc/cpuinfo: implementer 0x41, part 0xd0b
      assert.ok(info.cores !== null && info.cores >= 1);
      assert.match(info.os ?? "", /^Linux \S+ \(.+\)$/);

      const model = randomBytes(5 * 1024 * 1024);
      const pushed = await t.push(model, "models/model.bin");
      assert.equal(pushed.remote, `${rig.boardDir}/models/model.bin`);
      assert.equal(pushed.bytes, model.length);
      assert.equal(pushed.sha256, await sha256Hex(model));
      assert.deepEqual(await Deno.readFile(pushed.remote), model); // what the board's disk holds
      assert.deepEqual([...Deno.readDirSync(`${rig.boardDir}/models`)].map((e) => e.name), ["model.bin"]);
      assert.deepEqual(await t.pull("models/model.bin"), model);
      await assert.rejects(t.pull("models/none.bin"), isDeviceError("exit", /models\/none\.bin: no such file/));

      const r = await t.exec(["sh", "-c", "echo out; echo err >&2; exit 3"], { check: false });
      assert.deepEqual([decode(r.stdout), decode(r.stderr), r.code], ["out\n", "err\n", 3]);
      const echoed = await t.exec(["printf", "%s|", "a b", "it's", "$HOME", "*", ""]);
      assert.equal(decode(echoed.stdout), "a b|it's|$HOME|*||"); // every argument arrives as it was
      const where = await t.exec(["sh", "-c", 'echo "$X"; pwd'], { cwd: "models", env: { X: "x 'y'" } });
      assert.equal(decode(where.stdout), `x 'y'\n${rig.boardDir}/models\n`);
      await assert.rejects(
        t.exec(["sh", "-c", "echo partial; echo 'model file is corrupt' >&2; exit 2"]),
        (e: unknown) => {
          isDeviceError("exit", /exited with 2: model file is corrupt/)(e);
          assert.equal((e as DeviceError).code, 2);
          assert.equal((e as DeviceError).stdout, "partial\n");
          return true;
        },
      );

      await compileAarch64(HELLO_C, `${local}/hello`);
      const elf = await Deno.readFile(`${local}/hello`);
      assert.deepEqual([elf[18], elf[19]], [0xb7, 0x00]); // e_machine: aarch64
      await t.push({ path: `${local}/hello` }, "bin/hello", { mode: 0o755 });
      const hello = await t.exec(["./bin/hello", "an arg"], { check: false });
      assert.deepEqual([decode(hello.stdout), decode(hello.stderr), hello.code], [
        "hello from aarch64: an arg\n",
        "to stderr\n",
        7,
      ]);

      const started = performance.now();
      await assert.rejects(
        t.exec(["sleep", "100.4711"], { timeoutMs: 400 }),
        isDeviceError("timeout", /`sleep 100\.4711` ran past its 400 ms timeout and was killed \(remote PID \d+\)/),
      );
      assert.ok(performance.now() - started < 6_000);
      assert.ok(await eventually(() => processesWithArgv(["sleep", "100.4711"]).length === 0), "sleep still running");
      assert.equal(decode((await t.exec(["echo", "still usable"])).stdout), "still usable\n");
      await t.close();
      await t.close(); // twice is fine
    });
  } finally {
    await Deno.remove(local, { recursive: true });
  }
});

Deno.test("ssh:// to a closed port is unreachable", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const dir = await Deno.makeTempDir({ prefix: "ssh-refused-test." });
  try {
    const t = openTransport(`ssh://root@127.0.0.1:${port}`, { knownHosts: `${dir}/known_hosts` });
    await assert.rejects(
      t.connect(),
      isDeviceError("unreachable", new RegExp(`connection refused by 127\\.0\\.0\\.1:${port}`)),
    );
    await assert.rejects(t.exec(["true"]), isDeviceError("protocol", /not connected/));
    await t.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("host keys: unknown refused with its fingerprint, trusted and recorded on request, changed always refused; a wrong key fails auth", async () => {
  await withRig({ board: "host" }, async (rig, open) => {
    const dir = `${rig.boardDir}/client`;
    await Deno.mkdir(dir);
    const name = `[127.0.0.1]:${rig.port}`;

    const empty = `${dir}/empty_known_hosts`;
    await Deno.writeTextFile(empty, "");
    await assert.rejects(open({ knownHosts: empty }).connect(), (e: unknown) => {
      isDeviceError("host-key", /unknown host key/)(e);
      const message = (e as DeviceError).message;
      for (const part of [name, rig.hostKeyFingerprint, "--trust-host-key", empty]) {
        assert.ok(message.includes(part), part);
      }
      return true;
    });
    assert.equal(await Deno.readTextFile(empty), "");

    const trusting = open({ knownHosts: empty, trustHostKey: true });
    await trusting.connect();
    assert.equal(decode((await trusting.exec(["echo", "trusted"])).stdout), "trusted\n");
    const recorded = await Deno.readTextFile(empty);
    assert.match(recorded, new RegExp(`^\\[127\\.0\\.0\\.1\\]:${rig.port} ssh-ed25519 \\S+\\n$`));
    await open({ knownHosts: empty }).connect(); // recorded: no flag needed any more

    const hashed = `${dir}/hashed_known_hosts`; // OpenSSH's own hashing of the rig's entry
    await Deno.copyFile(rig.knownHosts, hashed);
    const h = await new Deno.Command("ssh-keygen", { args: ["-H", "-f", hashed], stdout: "null", stderr: "null" })
      .output();
    assert.ok(h.success);
    assert.match(await Deno.readTextFile(hashed), /^\|1\|/);
    await open({ knownHosts: hashed }).connect();

    const other = await new Deno.Command("ssh-keygen", {
      args: ["-q", "-t", "ed25519", "-N", "", "-f", `${dir}/other_key`],
      stdout: "null",
    }).output();
    assert.ok(other.success);
    const otherPublic = (await Deno.readTextFile(`${dir}/other_key.pub`)).split(" ").slice(0, 2).join(" ");
    const changed = `${dir}/changed_known_hosts`;
    const changedText = `# a reinstalled board, or someone in the middle\n${name} ${otherPublic}\n`;
    await Deno.writeTextFile(changed, changedText);
    for (const trustHostKey of [false, true]) {
      await assert.rejects(open({ knownHosts: changed, trustHostKey }).connect(), (e: unknown) => {
        isDeviceError("host-key", /WARNING: the host key of .* has CHANGED/)(e);
        const message = (e as DeviceError).message;
        for (const part of [rig.hostKeyFingerprint, `${changed} line 2`, "also with --trust-host-key"]) {
          assert.ok(message.includes(part), part);
        }
        return true;
      });
    }
    assert.equal(await Deno.readTextFile(changed), changedText); // nothing recorded

    await assert.rejects(
      open({ identity: `${dir}/other_key` }).connect(),
      isDeviceError("auth", new RegExp(`authentication as ${rig.user} failed: offered key ${dir}/other_key`)),
    );
  });
});

for (const fault of ["corrupt", "lie"] as const) {
  Deno.test(`a device whose sha256sum ${fault === "corrupt" ? "damages the file" : "lies"} fails the push with "verify"`, async () => {
    await withRig({ board: "arm64", sha256Fault: fault }, async (rig, open) => {
      const t = open();
      await t.connect();
      const data = randomBytes(200_000);
      const sent = await sha256Hex(data);
      await assert.rejects(t.push(data, "m/model.bin"), (e: unknown) => {
        isDeviceError("verify", new RegExp(`${rig.boardDir}/m/model\\.bin arrived corrupted`))(e);
        const device = /SHA-256 on the device ([0-9a-f]{64}), sent ([0-9a-f]{64})/.exec((e as DeviceError).message);
        assert.ok(device, (e as DeviceError).message);
        assert.equal(device[2], sent);
        assert.notEqual(device[1], sent);
        return true;
      });
      assert.deepEqual([...Deno.readDirSync(`${rig.boardDir}/m`)], []); // nothing left in place, no temp file
    });
  });
}

Deno.test("sshd killed mid-push and mid-command: disconnected, never success", async () => {
  await withRig({ board: "arm64" }, async (rig, open) => {
    const t = open();
    await t.connect();
    const big = randomBytes(256 * 1024 * 1024);
    const push = t.push(big, "big.bin");
    push.catch(() => {});
    // Kill sshd once the transfer is visibly under way (its temporary file is growing on the board).
    const growing = () =>
      [...Deno.readDirSync(rig.boardDir)].some((e) =>
        e.name.endsWith(".part") && Deno.statSync(`${rig.boardDir}/${e.name}`).size > 0
      );
    assert.ok(await eventually(growing, 10_000), "the push never started");
    assert.ok(rig.killSshd().length >= 2); // the listener and this connection's session
    await assert.rejects(
      push,
      isDeviceError("disconnected", /during the push of .*big\.bin \(\d+ of 268435456 bytes sent\)/),
    );
    assert.equal([...Deno.readDirSync(rig.boardDir)].some((e) => e.name === "big.bin"), false);
    await assert.rejects(t.exec(["true"]), isDeviceError("disconnected"));
  });
  await withRig({ board: "arm64" }, async (rig, open) => {
    const t = open();
    await t.connect();
    const run = t.exec(["sh", "-c", "echo started; exec sleep 30.4712"]);
    run.catch(() => {});
    assert.ok(await eventually(() => processesWithArgv(["sleep", "30.4712"]).length > 0), "the command never started");
    rig.killSshd();
    await assert.rejects(run, isDeviceError("disconnected", /during `sh -c/));
  });
});

/**
 * Connects in a fresh Deno process whose HOME and SSH_AUTH_SOCK are set (so this process's environment, shared
 * with other test modules, stays as it is); returns "ok <whoami>" or "<kind>: <message>".
 */
async function connectWithEnv(url: string, knownHosts: string, env: Record<string, string>): Promise<string> {
  const root = new URL("../", import.meta.url).pathname;
  const code = `
    import { openTransport } from ${JSON.stringify(`${root}devices/mod.ts`)};
    const t = openTransport(${JSON.stringify(url)}, { knownHosts: ${JSON.stringify(knownHosts)} });
    try {
      await t.connect();
      console.log("ok " + new TextDecoder().decode((await t.exec(["id", "-un"])).stdout).trim());
    } catch (e) {
      console.log(e.kind + ": " + e.message);
    } finally {
      await t.close();
    }`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    cwd: root,
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
      NO_COLOR: "1",
      ...env,
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout).trim() || new TextDecoder().decode(out.stderr).trim();
}

Deno.test("keys come from ssh-agent, then ~/.ssh/id_ed25519; with neither, auth fails saying so", async () => {
  await withRig({ board: "host" }, async (rig) => {
    const homes = `${rig.boardDir}/homes`;
    await Deno.mkdir(`${homes}/with-key/.ssh`, { recursive: true });
    await Deno.mkdir(`${homes}/empty`);
    await Deno.copyFile(rig.identity, `${homes}/with-key/.ssh/id_ed25519`);
    await Deno.chmod(`${homes}/with-key/.ssh/id_ed25519`, 0o600);

    assert.equal(await connectWithEnv(rig.url, rig.knownHosts, { HOME: `${homes}/with-key` }), `ok ${rig.user}`);
    assert.match(
      await connectWithEnv(rig.url, rig.knownHosts, { HOME: `${homes}/empty` }),
      /^auth: .*authentication as \S+ failed: no key to offer/,
    );

    const socket = `${rig.boardDir}/agent.sock`;
    const agent = new Deno.Command("ssh-agent", { args: ["-D", "-a", socket], stdout: "null", stderr: "null" }).spawn();
    try {
      assert.ok(
        await eventually(() => {
          try {
            return Deno.statSync(socket).isSocket === true;
          } catch {
            return false;
          }
        }),
      );
      const add = await new Deno.Command("ssh-add", {
        args: [rig.identity],
        env: { SSH_AUTH_SOCK: socket },
        stdout: "null",
        stderr: "null",
      }).output();
      assert.ok(add.success);
      assert.equal(
        await connectWithEnv(rig.url, rig.knownHosts, { HOME: `${homes}/empty`, SSH_AUTH_SOCK: socket }),
        `ok ${rig.user}`,
      );
    } finally {
      agent.kill("SIGTERM");
      await agent.status;
    }
  });
});
