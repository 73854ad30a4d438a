/**
 * Calibration progress: on a terminal, a bar redrawn in place with images/s
 * and the time left; otherwise (a pipe, a CI log) plain lines, one per pass
 * and at most one every few seconds in between.
 *
 * @module
 */

/**
 * Where and how progress is written; injectable for tests.
 *
 * @example
 * ```ts
 * import type { ProgressOptions } from "./progress.ts";
 * const lines: string[] = [];
 * const options: ProgressOptions = { total: 300, tty: false, write: (s) => lines.push(s) };
 * ```
 */
export interface ProgressOptions {
  /** Samples per pass, when known (no percentage or ETA otherwise). */
  readonly total: number | undefined;
  /** Draw a bar in place (a terminal) or print plain lines. Default: whether stderr is a terminal. */
  readonly tty?: boolean;
  /** Output sink. Default: stderr. */
  readonly write?: (text: string) => void;
  /** Clock in milliseconds. Default: `performance.now`. */
  readonly now?: () => number;
  /** Terminal width. Default: stderr's columns, else 80. */
  readonly columns?: number;
  /** Seconds between plain lines within a pass. Default 5. */
  readonly lineInterval?: number;
  /** What is counted. Default "images". */
  readonly unit?: string;
  /** What is being done. Default "calibrating". */
  readonly label?: string;
}

/**
 * The progress display: call `update(pass, passes, samplesInPass)` as calibration advances (the pipeline's
 * progress callback) and `done()` at the end.
 *
 * @example
 * ```ts
 * import type { Progress } from "./progress.ts";
 * const silent: Progress = { update: () => {}, done: () => {} };
 * ```
 */
export interface Progress {
  update(pass: number, passes: number, samples: number): void;
  done(): void;
}

/**
 * Formats seconds as `m:ss` (or `h:mm:ss`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatDuration } from "./progress.ts";
 * assert.equal(formatDuration(75.2), "1:15");
 * assert.equal(formatDuration(3725), "1:02:05");
 * ```
 */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/**
 * Creates the progress display.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createProgress } from "./progress.ts";
 * const out: string[] = [];
 * let t = 0;
 * const p = createProgress({ total: 100, tty: false, write: (s) => out.push(s), now: () => t });
 * t = 1000;
 * p.update(0, 1, 100);
 * p.done();
 * assert.deepEqual(out, ["calibrating: pass 1/1 100/100 images (100 %), 100.0 images/s\n"]);
 * ```
 */
export function createProgress(options: ProgressOptions): Progress {
  const tty = options.tty ?? Deno.stderr.isTerminal();
  const encoder = new TextEncoder();
  const write = options.write ?? ((s: string) => Deno.stderr.writeSync(encoder.encode(s)));
  const now = options.now ?? (() => performance.now());
  const unit = options.unit ?? "images";
  const label = options.label ?? "calibrating";
  const total = options.total;
  const interval = (options.lineInterval ?? 5) * 1000;
  const start = now();
  let lastLine = start;
  let drawn = false;
  let lastPass = -1;

  const stats = (pass: number, passes: number, samples: number) => {
    const elapsed = (now() - start) / 1000;
    const doneAll = (total ?? 0) * pass + samples;
    const rate = elapsed > 0 ? doneAll / elapsed : 0;
    const remaining = total === undefined ? undefined : total * passes - doneAll;
    const eta = remaining !== undefined && rate > 0 ? remaining / rate : undefined;
    return { rate, eta };
  };

  return {
    update(pass, passes, samples) {
      const { rate, eta } = stats(pass, passes, samples);
      const passText = `pass ${pass + 1}/${passes}`;
      const count = total === undefined ? `${samples} ${unit}` : `${samples}/${total} ${unit}`;
      if (tty) {
        const columns = options.columns ?? consoleColumns();
        const tail = ` ${count} · ${rate.toFixed(1)} ${unit}/s${
          eta === undefined ? "" : ` · ETA ${formatDuration(eta)}`
        } · ${passText}`;
        let line: string;
        if (total !== undefined && total > 0) {
          const fraction = Math.min(1, samples / total);
          const width = Math.max(10, Math.min(30, columns - tail.length - 20));
          const full = Math.round(fraction * width);
          line = `${label} [${"█".repeat(full)}${"░".repeat(width - full)}] ${
            String(Math.floor(fraction * 100)).padStart(3)
          }%${tail}`;
        } else {
          line = `${label}${tail}`;
        }
        write(`\r\x1b[K${line.slice(0, Math.max(20, columns - 1))}`);
        drawn = true;
        return;
      }
      const endOfPass = total !== undefined && samples >= total;
      const t = now();
      if (endOfPass || t - lastLine >= interval || pass !== lastPass && samples === 0) {
        lastLine = t;
        lastPass = pass;
        const pct = total ? ` (${Math.floor((samples / total) * 100)} %)` : "";
        const etaText = eta !== undefined && !(endOfPass && pass + 1 === passes) ? `, ETA ${formatDuration(eta)}` : "";
        write(`${label}: ${passText} ${count}${pct}, ${rate.toFixed(1)} ${unit}/s${etaText}\n`);
      }
    },
    done() {
      if (tty && drawn) write("\r\x1b[K");
      drawn = false;
    },
  };
}

function consoleColumns(): number {
  try {
    return Deno.consoleSize().columns;
  } catch {
    return 80;
  }
}
