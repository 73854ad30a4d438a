/**
 * What the ssh:// transport costs around a run on a board: on the arm64-board sshd rig (tests/rigs/sshd.ts,
 * a real OpenSSH sshd on 127.0.0.1, commands on qemu-aarch64), push a model, run an aarch64 program that
 * reads it and writes an output, pull that output. Reports each step and the overhead beyond the run
 * (push + run + pull − run), median over rounds; connecting is reported once, apart. Prints; never asserts a
 * speed. Runs alone too:
 *
 *   deno run -A bench/ssh_bench.ts [--mb 5] [--out-kb 1024] [--rounds 5]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { openTransport } from "../devices/mod.ts";
import { compileAarch64, startSshd } from "../tests/rigs/sshd.ts";

/** Options of {@link sshBench}. */
export interface SshBenchOptions {
  /** Model size in MiB (default 5). */
  modelMiB?: number;
  /** Output the program writes, in KiB (default 1024). */
  outputKiB?: number;
  /** Push/run/pull rounds; medians are reported (default 5). */
  rounds?: number;
}

/** Milliseconds, medians over the rounds. */
export interface SshBenchResult {
  modelBytes: number;
  outputBytes: number;
  rounds: number;
  connectMs: number;
  pushMs: number;
  runMs: number;
  pullMs: number;
  totalMs: number;
  /** totalMs − runMs: what the transport adds to the run. */
  overheadMs: number;
}

/** Reads argv[1] (the model), folds it into argv[3] bytes of output, writes argv[2]. */
const PROGRAM_C = `#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
  if (argc != 4) return 2;
  FILE *in = fopen(argv[1], "rb"); if (!in) return 3;
  size_t n = (size_t)atol(argv[3]);
  unsigned char *out = calloc(n, 1), buf[65536];
  size_t got, pos = 0;
  while ((got = fread(buf, 1, sizeof buf, in)) > 0)
    for (size_t i = 0; i < got; i++, pos++) out[pos % n] ^= buf[i];
  fclose(in);
  FILE *o = fopen(argv[2], "wb"); if (!o) return 4;
  fwrite(out, 1, n, o); fclose(o);
  printf("%zu bytes in, %zu out\\n", pos, n);
  return 0;
}
`;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Runs the bench on a fresh arm64-board sshd rig and ends it.
 *
 * @example
 * ```ts ignore
 * console.log(formatSshBench(await sshBench({ rounds: 3 })));
 * ```
 */
export async function sshBench(options: SshBenchOptions = {}): Promise<SshBenchResult> {
  const modelBytes = Math.round((options.modelMiB ?? 5) * 1024 * 1024);
  const outputBytes = Math.round((options.outputKiB ?? 1024) * 1024);
  const rounds = options.rounds ?? 5;
  const model = new Uint8Array(modelBytes);
  for (let i = 0; i < model.length; i += 65536) crypto.getRandomValues(model.subarray(i, i + 65536));
  const local = await Deno.makeTempDir({ prefix: "ssh-bench." });
  const rig = await startSshd({ board: "arm64" });
  try {
    await compileAarch64(PROGRAM_C, `${local}/fold`);
    const t = openTransport(rig.url, { identity: rig.identity, knownHosts: rig.knownHosts });
    try {
      let started = performance.now();
      await t.connect();
      const connectMs = performance.now() - started;
      await t.push({ path: `${local}/fold` }, "bin/fold", { mode: 0o755 });
      const push: number[] = [], run: number[] = [], pull: number[] = [];
      for (let round = 0; round < rounds; round++) {
        started = performance.now();
        await t.push(model, "model.bin");
        push.push(performance.now() - started);
        started = performance.now();
        await t.exec(["./bin/fold", "model.bin", "out.bin", String(outputBytes)]);
        run.push(performance.now() - started);
        started = performance.now();
        const out = await t.pull("out.bin");
        pull.push(performance.now() - started);
        if (out.length !== outputBytes) {
          throw new Error(`ssh bench: pulled ${out.length} bytes, expected ${outputBytes}`);
        }
      }
      const totals = push.map((p, i) => p + run[i]! + pull[i]!);
      const overheads = push.map((p, i) => p + pull[i]!);
      return {
        modelBytes,
        outputBytes,
        rounds,
        connectMs,
        pushMs: median(push),
        runMs: median(run),
        pullMs: median(pull),
        totalMs: median(totals),
        overheadMs: median(overheads),
      };
    } finally {
      await t.close();
    }
  } finally {
    await rig.stop();
    await Deno.remove(local, { recursive: true });
  }
}

/**
 * The one-line summary.
 *
 * @example
 * ```ts
 * import { formatSshBench } from "./ssh_bench.ts";
 * formatSshBench({ modelBytes: 5242880, outputBytes: 1048576, rounds: 5, connectMs: 50, pushMs: 120, runMs: 40,
 *   pullMs: 20, totalMs: 180, overheadMs: 140 }).startsWith("ssh:// on the arm64-board sshd rig"); // true
 * ```
 */
export function formatSshBench(r: SshBenchResult): string {
  const mib = (b: number) => (b / 1024 / 1024).toFixed(b % (1024 * 1024) ? 2 : 0);
  const ms = (x: number) => `${x.toFixed(0)} ms`;
  return `ssh:// on the arm64-board sshd rig (127.0.0.1, median of ${r.rounds}): push ${mib(r.modelBytes)} MiB ` +
    `${ms(r.pushMs)} (SHA-256 checked on the device), run ${ms(r.runMs)}, pull ${mib(r.outputBytes)} MiB ` +
    `${ms(r.pullMs)}; overhead beyond the run ${ms(r.overheadMs)} (target ≤ 500 ms); connect ${ms(r.connectMs)}`;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { mb: { type: "string" }, "out-kb": { type: "string" }, rounds: { type: "string" } },
  });
  console.log(formatSshBench(
    await sshBench({
      ...(values.mb === undefined ? {} : { modelMiB: Number(values.mb) }),
      ...(values["out-kb"] === undefined ? {} : { outputKiB: Number(values["out-kb"]) }),
      ...(values.rounds === undefined ? {} : { rounds: Number(values.rounds) }),
    }),
  ));
}
