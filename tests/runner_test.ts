// The on-device ONNX Runtime runner (devices/runner/ort_runner.c): built for x64 and arm64 by the targets'
// runnerBuild, copied into a "device" directory like a push would, invoked with the targets' runArgv on a
// QDQ int8 model made by the project's pipeline and real Fashion-MNIST samples. x64 runs natively and must
// equal ONNX Runtime in Deno (same library); arm64 runs under qemu-aarch64 (tests/rigs/arm64_board.sh) and
// must agree within ARM kernel differences. Then the error paths: a broken model exits 4, every malformed
// .npy exits 3 naming the file (also under AddressSanitizer), bad flags exit 2 — never a signal.
import assert from "node:assert/strict";
import { decodeModel, encodeModel } from "../core/onnx/model.ts";
import { DEFAULT_QUANTIZE_OPTIONS, quantizeModel } from "../core/pipeline.ts";
import { createOrtExecutor } from "../targets/ort.ts";
import { ARM64, HOST, type RunRequest, type Target } from "../targets/mod.ts";
import { idxSource, imageFolderSource } from "../cli/source.ts";
import { readIdxImages, readIdxLabels } from "../cli/idx.ts";
import { BENCH_MODELS, FMNIST_DIR } from "../bench/fixtures.ts";
import { decodeNpy, encodeNpy } from "../devices/runner/npy.ts";
import { parseRunnerReport, type RunnerReport } from "../devices/runner/report.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const SAMPLES = 8;

interface Ran {
  code: number;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end; kills it (by its PID, through Deno) if it outlives the timeout. */
async function run(
  command: string,
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 180_000,
): Promise<Ran> {
  const child = new Deno.Command(command, { args, env, stdin: "null", stdout: "piped", stderr: "piped" }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
  }, timeoutMs);
  try {
    const r = await child.output();
    const text = new TextDecoder();
    return { code: r.code, signal: r.signal, stdout: text.decode(r.stdout), stderr: text.decode(r.stderr) };
  } finally {
    clearTimeout(timer);
  }
}

interface Fixture {
  dir: string;
  model: string;
  modelBytes: Uint8Array;
  input: string;
  /** Per sample, [1, 1, 28, 28]. */
  samples: Float32Array[];
}

/**
 * fmnist_resnet quantized with the defaults on 32 calibration images (0.3 s); t10k images 9000–9007 as
 * one .npy; in a fresh temporary directory the test removes.
 */
async function makeFixture(): Promise<Fixture> {
  const m = BENCH_MODELS.find((b) => b.name === "fmnist_resnet")!;
  const float = decodeModel(await Deno.readFile(`${ROOT}${m.path}`), m.path);
  const calib = await imageFolderSource(`${ROOT}${m.calib}`, m.input, m.spec, { batchSize: 8, limit: 32 });
  const result = await quantizeModel(float, calib.source, createOrtExecutor, DEFAULT_QUANTIZE_OPTIONS);
  const modelBytes = encodeModel(result.quantized);
  const images = await readIdxImages(`${FMNIST_DIR}/t10k-images-idx3-ubyte.gz`);
  const labels = await readIdxLabels(`${FMNIST_DIR}/t10k-labels-idx1-ubyte.gz`);
  const source = idxSource(images, labels, m.input, m.spec, { batchSize: SAMPLES, start: 9000, count: SAMPLES });
  const samples: Float32Array[] = [];
  let stacked: { data: Float32Array; dims: number[] } | undefined;
  for await (const batch of source()) stacked = batch.feeds[m.input]!;
  const per = 28 * 28;
  for (let s = 0; s < SAMPLES; s++) samples.push(stacked!.data.slice(s * per, (s + 1) * per));
  const dir = await Deno.makeTempDir({ prefix: "runner_test_" });
  await Deno.writeFile(`${dir}/model.onnx`, modelBytes);
  await Deno.writeFile(`${dir}/input.npy`, encodeNpy(stacked!.data, stacked!.dims));
  return { dir, model: `${dir}/model.onnx`, modelBytes, input: m.input, samples };
}

/** Runs `body` on a fresh fixture and removes its directory afterwards, also on failure. */
async function withFixture(body: (f: Fixture) => Promise<void>): Promise<void> {
  const f = await makeFixture();
  try {
    await body(f);
  } finally {
    await Deno.remove(f.dir, { recursive: true });
  }
}

/** Copies the target's runner files into a fresh "device" directory, with their modes, as a push would. */
async function install(target: Target, parent: string): Promise<string> {
  const { files } = await target.runnerBuild();
  assert.deepEqual(files.map((f) => f.name), ["int8-runner", "libonnxruntime.so.1"]);
  const dir = await Deno.makeTempDir({ dir: parent, prefix: `${target.name}_` });
  for (const f of files) {
    await Deno.copyFile(f.local, `${dir}/${f.name}`);
    await Deno.chmod(`${dir}/${f.name}`, f.mode);
  }
  return dir;
}

/** Host ONNX Runtime (Deno, same libonnxruntime) on each sample, one at a time like the runner. */
async function hostOutputs(f: Fixture): Promise<Float32Array[]> {
  const exec = await createOrtExecutor(f.modelBytes, { threads: 1 });
  try {
    const out: Float32Array[] = [];
    for (const s of f.samples) {
      out.push((await exec.run({ [f.input]: { data: s, dims: [1, 1, 28, 28] } }, ["logits"])).get("logits")!.data);
    }
    return out;
  } finally {
    await exec.release();
  }
}

function cosine(a: Float32Array, b: Float32Array): number {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return ab / Math.sqrt(aa * bb);
}

function checkReport(r: RunnerReport, expected: { arch: string; threads: number; runs: number }): void {
  assert.equal(r.runner, "int8-runner/1");
  assert.equal(r.ort, "1.30.0");
  assert.equal(r.threads, expected.threads);
  assert.equal(r.runs, expected.runs);
  assert.equal(r.samples, SAMPLES);
  assert.deepEqual(r.outputs, [{ name: "logits", file: "0.npy", dtype: "float32", shape: [SAMPLES, 10] }]);
  const l = r.latencyUs;
  assert.ok(0 < l.min && l.min <= l.median && l.median <= l.p90 && l.p90 <= l.max, JSON.stringify(l));
  assert.ok(l.min <= l.mean && l.mean <= l.max, JSON.stringify(l));
  assert.equal(r.device.arch, expected.arch);
  assert.ok(r.device.cores !== null && r.device.cores >= 1);
  assert.match(r.device.os ?? "", /^Linux \d/);
}

async function readLogits(outDir: string): Promise<Float32Array[]> {
  const npy = decodeNpy(await Deno.readFile(`${outDir}/0.npy`), "0.npy");
  assert.equal(npy.dtype, "float32");
  assert.deepEqual(npy.shape, [SAMPLES, 10]);
  const data = npy.data as Float32Array;
  return Array.from({ length: SAMPLES }, (_, s) => data.subarray(s * 10, (s + 1) * 10));
}

function request(f: Fixture, dir: string, outDir: string, extra: Partial<RunRequest> = {}): RunRequest {
  return { dir, model: f.model, inputs: [{ name: f.input, file: `${f.dir}/input.npy` }], outDir, ...extra };
}

Deno.test("x64 runner: outputs equal ONNX Runtime in Deno, one JSON line with timings, threads and pinning", () =>
  withFixture(async (f) => {
    const device = await install(HOST, f.dir);
    const expected = await hostOutputs(f);
    for (const extra of [{ runs: 5, warmup: 1 }, { runs: 4, warmup: 0, threads: 2, pin: [0, 1] }]) {
      const outDir = `${f.dir}/out-x64-${extra.threads ?? 1}`;
      const [cmd, ...args] = HOST.runArgv(request(f, device, outDir, extra));
      const r = await run(cmd!, args);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, "");
      const report = parseRunnerReport(r.stdout, "x64 runner");
      checkReport(report, { arch: "x86_64", threads: extra.threads ?? 1, runs: extra.runs });
      console.log(`x64 native, ${report.threads} thread(s): latency µs ${JSON.stringify(report.latencyUs)}`);
      const got = await readLogits(outDir);
      for (let s = 0; s < SAMPLES; s++) {
        for (let i = 0; i < 10; i++) {
          assert.ok(
            Math.abs(got[s]![i]! - expected[s]![i]!) <= 1e-5,
            `sample ${s} logit ${i}: ${got[s]![i]} vs ${expected[s]![i]}`,
          );
        }
      }
    }
  }));

Deno.test("arm64 runner under qemu-aarch64: outputs agree with host ONNX Runtime (cosine ≥ 0.999, same top-1)", () =>
  withFixture(async (f) => {
    const device = await install(ARM64, f.dir);
    const expected = await hostOutputs(f);
    const outDir = `${f.dir}/out-arm64`;
    const argv = ARM64.runArgv(request(f, device, outDir, { runs: 3, warmup: 1 }));
    const r = await run(`${ROOT}tests/rigs/arm64_board.sh`, ["--", ...argv]);
    assert.equal(r.code, 0, r.stderr);
    const report = parseRunnerReport(r.stdout, "arm64 runner");
    checkReport(report, { arch: "aarch64", threads: 1, runs: 3 });
    assert.equal(report.device.cpuModel, "ARM Cortex-A76"); // the rig's fake /proc/cpuinfo: CPU part 0xd0b
    console.log(`arm64 under qemu: latency µs ${JSON.stringify(report.latencyUs)}`);
    const got = await readLogits(outDir);
    const argmax = (a: Float32Array) => a.indexOf(Math.max(...a));
    for (let s = 0; s < SAMPLES; s++) {
      const c = cosine(got[s]!, expected[s]!);
      assert.ok(c >= 0.999, `sample ${s}: cosine ${c}`);
      assert.equal(argmax(got[s]!), argmax(expected[s]!), `sample ${s} top-1`);
    }
    // A malformed input is a message and exit 3 on the board too.
    const bad = `${f.dir}/arm64-truncated.npy`;
    await Deno.writeFile(bad, (await Deno.readFile(`${f.dir}/input.npy`)).subarray(0, 40));
    const broken = await run(`${ROOT}tests/rigs/arm64_board.sh`, [
      "--",
      ...ARM64.runArgv({ ...request(f, device, outDir), inputs: [{ name: f.input, file: bad }] }),
    ]);
    assert.equal(broken.code, 3, broken.stderr);
    assert.ok(broken.stderr.includes(bad), broken.stderr);
  }));

// ---- error paths ----------------------------------------------------------------------------------

const enc = new TextEncoder();

/** A .npy with a given header text and payload (v1.0 unless `major` says otherwise). */
function npy(header: string, payload: Uint8Array, major = 1): Uint8Array {
  const head = enc.encode(header);
  const start = major === 1 ? 10 : 12;
  const out = new Uint8Array(start + head.length + payload.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, head.length, true);
  else view.setUint32(8, head.length, true);
  out.set(head, start);
  out.set(payload, start + head.length);
  return out;
}

const floats = (n: number) => new Uint8Array(new Float32Array(n).buffer);
const header = (descr: string, shape: string, fortran = "False") =>
  `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }\n`;

const EXPECTED: Record<string, RegExp> = {
  "empty file": /bad magic/,
  "5 bytes": /bad magic/,
  "bad magic": /bad magic/,
  "version 9": /unsupported \.npy version 9/,
  "header length past the end": /truncated \.npy header \(65535 bytes/,
  "v2 header length of 4 GiB": /truncated \.npy header \(4294967295 bytes/,
  "truncated header": /truncated \.npy header/,
  "NUL inside the header": /header contains a NUL byte/,
  "no descr": /has no 'descr'/,
  "descr not quoted": /has no 'descr'/,
  "big-endian float": /dtype '>f4' is not supported/,
  "complex dtype": /dtype '<c8' is not supported/,
  "object dtype": /dtype '\|O' is not supported/,
  "very long descr": /'descr' is malformed/,
  "fortran order": /only C-order/,
  "no shape": /no 'shape' tuple/,
  "shape as a list": /no 'shape' tuple/,
  "negative dimension": /'shape' is malformed/,
  "unclosed shape": /'shape' is malformed/,
  "shape with a name": /'shape' is malformed/,
  "element count overflows": /shape is too large/,
  "dimension past int64": /dimension is too large/,
  "bytes overflow": /shape is too large/,
  "17 dimensions": /more than 16 dimensions/,
  "one value short": /holds 3136 bytes of data but the file has 3132/,
  "truncated payload": /holds 25088 bytes of data but the file has 24988/,
  "trailing bytes": /holds 25088 bytes of data but the file has 25092/,
  "int8 for a float input": /dtype int8, but model input 'input' is float32/,
  "rank 2 for a rank-4 input": /2-D, but model input 'input' is 4-D/,
  "28×27 images": /dimension 3 is 27, but model input 'input' has 28/,
  "no samples": /holds no samples/,
  "scalar": /0-D, but model input 'input' is 4-D/,
  "garbage": /bad magic/,
};

/** Malformed inputs for the fixture's model (input [N, 1, 28, 28] float32): why → [bytes, the runner's message]. */
function malformed(good: Uint8Array): Record<string, [Uint8Array, RegExp]> {
  const withByte = (at: number, value: number) => {
    const b = good.slice();
    b[at] = value;
    return b;
  };
  const hugeLength = good.slice();
  new DataView(hugeLength.buffer).setUint16(8, 0xffff, true);
  const cases: Record<string, Uint8Array> = {
    "empty file": new Uint8Array(0),
    "5 bytes": good.slice(0, 5),
    "bad magic": withByte(1, 0x4d),
    "version 9": withByte(6, 9),
    "header length past the end": hugeLength,
    "v2 header length of 4 GiB": (() => {
      const b = npy(header("<f4", "(1, 1, 28, 28)"), floats(784), 2);
      new DataView(b.buffer).setUint32(8, 0xffffffff, true);
      return b;
    })(),
    "truncated header": good.slice(0, 40),
    "NUL inside the header": npy(header("<f4", "(1, 1, 28, 28)").replace("fortran", "fort\0an"), floats(784)),
    "no descr": npy("{'fortran_order': False, 'shape': (1, 1, 28, 28), }\n", floats(784)),
    "descr not quoted": npy("{'descr': <f4, 'fortran_order': False, 'shape': (1, 1, 28, 28), }\n", floats(784)),
    "big-endian float": npy(header(">f4", "(1, 1, 28, 28)"), floats(784)),
    "complex dtype": npy(header("<c8", "(1, 1, 28, 28)"), floats(2 * 784)),
    "object dtype": npy(header("|O", "(1, 1, 28, 28)"), floats(2 * 784)),
    "very long descr": npy(header("<" + "f".repeat(300), "(1, 1, 28, 28)"), floats(784)),
    "fortran order": npy(header("<f4", "(1, 1, 28, 28)", "True"), floats(784)),
    "no shape": npy("{'descr': '<f4', 'fortran_order': False, }\n", floats(784)),
    "shape as a list": npy(header("<f4", "[1, 1, 28, 28]"), floats(784)),
    "negative dimension": npy(header("<f4", "(-1, 1, 28, 28)"), floats(784)),
    "unclosed shape": npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 28, 28", floats(784)),
    "shape with a name": npy(header("<f4", "(N, 1, 28, 28)"), floats(784)),
    "element count overflows": npy(header("<f4", "(4611686018427387904, 4611686018427387904, 28, 28)"), floats(784)),
    "dimension past int64": npy(header("<f4", "(99999999999999999999, 1, 28, 28)"), floats(784)),
    "bytes overflow": npy(header("<f4", "(4611686018427387904, 1, 1, 1)"), floats(784)),
    "17 dimensions": npy(header("<f4", `(${Array(17).fill(1).join(", ")})`), floats(1)),
    "one value short": npy(header("<f4", "(1, 1, 28, 28)"), floats(783)),
    "truncated payload": good.slice(0, good.length - 100),
    "trailing bytes": (() => {
      const b = new Uint8Array(good.length + 4);
      b.set(good);
      return b;
    })(),
    "int8 for a float input": npy(header("|i1", "(1, 1, 28, 28)"), new Uint8Array(784)),
    "rank 2 for a rank-4 input": npy(header("<f4", "(1, 784)"), floats(784)),
    "28×27 images": npy(header("<f4", "(1, 1, 28, 27)"), floats(28 * 27)),
    "no samples": npy(header("<f4", "(0, 1, 28, 28)"), new Uint8Array(0)),
    "scalar": npy(header("<f4", "()"), floats(1)),
    "garbage": Uint8Array.from({ length: 1000 }, (_, i) => (i * 7919 + 13) & 0xff),
  };
  return Object.fromEntries(Object.entries(cases).map(([why, bytes]) => [why, [bytes, EXPECTED[why]!]]));
}

Deno.test("runner errors: malformed .npy → exit 3 naming the file (also under ASan), broken model → 4, usage → 2", () =>
  withFixture(async (f) => {
    const device = await install(HOST, f.dir);
    const asan = `${f.dir}/asan`;
    const built = await run(`${ROOT}scripts/runner/build.sh`, ["x64"], {
      OPT: "-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined",
      OUT: asan,
    });
    assert.equal(built.code, 0, built.stderr);
    assert.equal(built.stdout.trim(), asan);
    const sanitizer = { ASAN_OPTIONS: "detect_leaks=0:abort_on_error=0:exitcode=99", UBSAN_OPTIONS: "exitcode=98" };
    const outDir = `${f.dir}/out-errors`;
    const good = await Deno.readFile(`${f.dir}/input.npy`);

    const files: [string, string, RegExp][] = [];
    for (const [i, [why, [bytes, message]]] of Object.entries(malformed(good)).entries()) {
      const file = `${f.dir}/bad-${i}.npy`;
      await Deno.writeFile(file, bytes);
      files.push([why, file, message]);
    }
    files.push(["missing file", `${f.dir}/does-not-exist.npy`, /cannot read .*: No such file/]);
    files.push(["a directory", f.dir, /cannot read /]);
    for (const runner of [device, asan]) {
      for (const [why, file, message] of files) {
        const [cmd, ...args] = HOST.runArgv(
          { ...request(f, runner, outDir, { runs: 1, warmup: 0 }), inputs: [{ name: f.input, file }] },
        );
        const r = await run(cmd!, args, sanitizer);
        assert.equal(r.signal, null, `${why}: killed by ${r.signal}`);
        assert.equal(r.code, 3, `${why} (${runner}): exit ${r.code}\n${r.stderr}`);
        assert.equal(r.stdout, "", why);
        assert.equal(r.stderr.trimEnd().split("\n").length, 1, `${why}: ${r.stderr}`);
        assert.ok(r.stderr.startsWith("int8-runner: ") && r.stderr.includes(file), `${why}: ${r.stderr}`);
        assert.match(r.stderr, message, why);
      }
    }
    // More samples asked than the file holds.
    const few = HOST.runArgv(request(f, device, outDir, { samples: SAMPLES + 1 }));
    const r = await run(few[0]!, few.slice(1));
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /holds 8 sample\(s\) of input 'input', 9 needed/);

    // A broken model: garbage, and a real model cut in half.
    for (
      const [why, bytes] of [["garbage", enc.encode("not an onnx model")], [
        "truncated",
        f.modelBytes.slice(0, f.modelBytes.length >> 1),
      ]] as const
    ) {
      const model = `${f.dir}/broken-${why}.onnx`;
      await Deno.writeFile(model, bytes);
      for (const runner of [device, asan]) {
        const argv = HOST.runArgv({ ...request(f, runner, outDir), model });
        const b = await run(argv[0]!, argv.slice(1), sanitizer);
        assert.equal(b.code, 4, `${why}: ${b.stderr}`);
        assert.ok(b.stderr.includes(model), b.stderr);
        assert.equal(b.stderr.trimEnd().split("\n").length, 1, b.stderr);
      }
    }

    // Usage errors.
    const runner = `${device}/int8-runner`;
    const input = `${f.input}=${f.dir}/input.npy`;
    const usage: [string, string[], RegExp][] = [
      ["no arguments", [], /--model is required/],
      ["unknown flag", ["--model", f.model, "--fast", "1"], /unknown option --fast/],
      ["missing value", ["--model"], /--model: missing value/],
      ["runs 0", ["--model", f.model, "--input", input, "--runs", "0"], /--runs 0/],
      ["threads x", ["--model", f.model, "--input", input, "--threads", "x"], /--threads x/],
      ["input without =", ["--model", f.model, "--input", "input.npy"], /expected NAME=FILE.npy/],
      [
        "unknown input",
        ["--model", f.model, "--input", input, "--input", `other=${f.dir}/input.npy`],
        /no input 'other'/,
      ],
      ["input not given", ["--model", f.model], /model input 'input' has no --input/],
      ["pin garbage", ["--model", f.model, "--input", input, "--pin", "0,x"], /--pin 0,x/],
    ];
    for (const [why, args, message] of usage) {
      const u = await run(runner, args);
      assert.equal(u.code, 2, `${why}: ${u.stderr}`);
      assert.match(u.stderr, message, why);
    }
    await Deno.remove(asan, { recursive: true });
  }));
