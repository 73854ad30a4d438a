/**
 * Runs one tool's process under GNU time (`/usr/bin/time -v`) so every tool's
 * wall time and peak RSS are measured the same way, from outside.
 *
 * @module
 */

/** Path of GNU time (Debian package `time`, installed by scripts/peers/setup). */
export const GNU_TIME = "/usr/bin/time";

/** What a measured process did. */
export interface MeasuredRun {
  /** The command line, for messages. */
  command: string;
  /** Exit code (a signal shows as 128 + signal in GNU time's report). */
  code: number;
  stdout: string;
  stderr: string;
  /** Wall-clock seconds of the whole process (GNU time "Elapsed"). */
  wallSeconds: number;
  /** Peak resident set size of the process (GNU time "Maximum resident set size"). */
  peakRssBytes: number;
}

/** A measured process that exited non-zero; carries its output. */
export class MeasuredRunError extends Error {
  /** Creates the error from the failed run; the message ends with the tail of its output. */
  constructor(readonly run: MeasuredRun, what: string) {
    super(`${what} failed (exit ${run.code}): ${run.command}\n${outputTail(run)}`);
    this.name = "MeasuredRunError";
  }
}

/**
 * Parses GNU time's `-v` report into wall seconds and peak RSS bytes; throws naming what is missing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseGnuTime } from "./measure.ts";
 * const report = "\tElapsed (wall clock) time (h:mm:ss or m:ss): 1:02.50\n\tMaximum resident set size (kbytes): 2048\n";
 * assert.deepEqual(parseGnuTime(report), { wallSeconds: 62.5, peakRssBytes: 2048 * 1024 });
 * ```
 */
export function parseGnuTime(report: string): { wallSeconds: number; peakRssBytes: number; exitStatus?: number } {
  const elapsed = /Elapsed \(wall clock\) time \([^)]*\):\s*([\d:.]+)/.exec(report)?.[1];
  const rss = /Maximum resident set size \(kbytes\):\s*(\d+)/.exec(report)?.[1];
  if (elapsed === undefined || rss === undefined) {
    throw new Error(`Cannot read GNU time's report: no ${elapsed === undefined ? "Elapsed" : "Maximum resident"} line`);
  }
  const wallSeconds = elapsed.split(":").map(Number).reduce((acc, part) => acc * 60 + part, 0);
  const status = /Exit status:\s*(\d+)/.exec(report)?.[1];
  return {
    wallSeconds,
    peakRssBytes: Number(rss) * 1024,
    ...(status === undefined ? {} : { exitStatus: Number(status) }),
  };
}

/**
 * Runs `cmd args…` under `/usr/bin/time -v` and returns its exit code, output, wall time and peak RSS.
 * Throws if GNU time is missing (run scripts/peers/setup).
 *
 * @example
 * ```ts ignore
 * const run = await runMeasured(".venv-peers/bin/python", ["scripts/peers/ort_peer.py", "quantize", ...]);
 * console.log(run.peakRssBytes / 2 ** 20, "MiB");
 * ```
 */
export async function runMeasured(
  cmd: string,
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<MeasuredRun> {
  try {
    await Deno.stat(GNU_TIME);
  } catch {
    throw new Error(`${GNU_TIME} (GNU time) is missing: run scripts/peers/setup`);
  }
  const report = await Deno.makeTempFile({ prefix: "bench-time-" });
  try {
    const output = await new Deno.Command(GNU_TIME, {
      args: ["-v", "-o", report, cmd, ...args],
      stdout: "piped",
      stderr: "piped",
      ...(options.cwd ? { cwd: options.cwd } : {}),
      ...(options.env ? { env: options.env } : {}),
    }).output();
    const decoder = new TextDecoder();
    const text = await Deno.readTextFile(report);
    const parsed = parseGnuTime(text);
    return {
      command: [cmd, ...args].join(" "),
      code: output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
      wallSeconds: parsed.wallSeconds,
      peakRssBytes: parsed.peakRssBytes,
    };
  } finally {
    await Deno.remove(report).catch(() => {});
  }
}

/** The last lines of a run's stderr and stdout (progress bars' carriage returns collapsed), for error messages. */
export function outputTail(run: Pick<MeasuredRun, "stdout" | "stderr">, lines = 15): string {
  const clean = (s: string) =>
    s.split("\n").map((l) => l.split("\r").at(-1)!.trimEnd()).filter((l) => l !== "" && !l.startsWith("\tCommand"));
  return [...clean(run.stdout), ...clean(run.stderr)].slice(-lines).join("\n");
}
