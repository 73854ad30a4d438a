/**
 * What the serial:// transport gets out of a line: upload an artifact-sized file (200 000 bytes by
 * default, or a given .qm) to qm_host_board (tests/rigs/host_board.ts: the firmware's protocol C on a pty,
 * paced to the baud rate, since a pty itself moves bytes at memory speed) at 115200 and 921600 baud, and
 * optionally to the mps2-an385 firmware in QEMU (whose UART ignores the baud rate: QEMU's own speed).
 * Prints achieved bytes/s against the line rate (baud / 10 for 8N1) and their ratio; never asserts a
 * speed. Runs alone too:
 *
 *   deno run -A bench/serial_bench.ts [--bytes 200000] [--artifact out/native/fmnist_resnet.qm] [--qemu]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { SerialTransport } from "../devices/serial.ts";
import { startHostBoard } from "../tests/rigs/host_board.ts";
import { buildFirmware, startMps2Board } from "../tests/rigs/mps2_board.ts";

/** Options of {@link serialBench}. */
export interface SerialBenchOptions {
  /** Bytes to upload (default 200 000; ignored with `artifact`). */
  bytes?: number;
  /** Upload this file instead. */
  artifact?: string;
  /** Baud rates of the paced host board (default 115200 and 921600). */
  bauds?: number[];
  /** Also upload to the mps2-an385 firmware in QEMU (default false). */
  qemu?: boolean;
}

/** One upload. */
export interface SerialBenchRow {
  /** "qm_host_board" or "mps2-an385 (QEMU)". */
  board: string;
  /** Line rate the board was paced to (null: QEMU, unpaced). */
  baud: number | null;
  bytes: number;
  seconds: number;
  bytesPerSecond: number;
  /** baud / 10, or null. */
  lineBytesPerSecond: number | null;
  /** bytesPerSecond / lineBytesPerSecond, or null. */
  ratio: number | null;
  retransmits: number;
}

async function upload(url: string, data: Uint8Array): Promise<{ seconds: number; retransmits: number }> {
  const t = new SerialTransport(url);
  try {
    await t.connect();
    const t0 = performance.now();
    await t.push(data, "bench.qm");
    return { seconds: (performance.now() - t0) / 1000, retransmits: t.stats.retransmits };
  } finally {
    await t.close();
  }
}

/**
 * Runs the uploads and returns one row per board.
 *
 * @example
 * ```ts ignore
 * const rows = await serialBench({ qemu: true });
 * console.log(formatSerialBench(rows));
 * ```
 */
export async function serialBench(options: SerialBenchOptions = {}): Promise<SerialBenchRow[]> {
  const data = options.artifact
    ? await Deno.readFile(options.artifact)
    : Uint8Array.from({ length: options.bytes ?? 200_000 }, (_, i) => (i * 2654435761) >>> 24);
  const rows: SerialBenchRow[] = [];
  for (const baud of options.bauds ?? [115200, 921600]) {
    const board = await startHostBoard({ baud });
    try {
      const { seconds, retransmits } = await upload(board.url, data);
      const bytesPerSecond = data.length / seconds, line = baud / 10;
      rows.push({
        board: "qm_host_board",
        baud,
        bytes: data.length,
        seconds,
        bytesPerSecond,
        lineBytesPerSecond: line,
        ratio: bytesPerSecond / line,
        retransmits,
      });
    } finally {
      await board.stop();
    }
  }
  if (options.qemu) {
    const board = await startMps2Board(await buildFirmware());
    try {
      const { seconds, retransmits } = await upload(board.url, data);
      rows.push({
        board: "mps2-an385 (QEMU)",
        baud: null,
        bytes: data.length,
        seconds,
        bytesPerSecond: data.length / seconds,
        lineBytesPerSecond: null,
        ratio: null,
        retransmits,
      });
    } finally {
      await board.stop();
    }
  }
  return rows;
}

/**
 * One line per upload.
 *
 * @example
 * ```ts
 * import { formatSerialBench } from "./serial_bench.ts";
 * formatSerialBench([{ board: "qm_host_board", baud: 115200, bytes: 200000, seconds: 17.6, bytesPerSecond: 11363,
 *   lineBytesPerSecond: 11520, ratio: 0.986, retransmits: 0 }]).includes("ratio 0.986"); // true
 * ```
 */
export function formatSerialBench(rows: SerialBenchRow[]): string {
  const n = (x: number) => Math.round(x).toLocaleString("en-US");
  return rows.map((r) => {
    const where = r.baud === null ? r.board : `${r.board} paced to ${r.baud} baud`;
    const rate = r.lineBytesPerSecond === null
      ? `${n(r.bytesPerSecond)} B/s (QEMU's UART has no line rate)`
      : `${n(r.bytesPerSecond)} B/s of ${n(r.lineBytesPerSecond)} B/s line rate (baud/10), ratio ${
        r.ratio!.toFixed(3)
      }`;
    return `serial:// upload of ${n(r.bytes)} bytes to ${where}: ${r.seconds.toFixed(2)} s, ${rate}, ` +
      `${r.retransmits} retransmits (target ratio ≥ 0.90)`;
  }).join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { bytes: { type: "string" }, artifact: { type: "string" }, qemu: { type: "boolean" } },
  });
  console.log(formatSerialBench(
    await serialBench({
      ...(values.bytes === undefined ? {} : { bytes: Number(values.bytes) }),
      ...(values.artifact === undefined ? {} : { artifact: values.artifact }),
      ...(values.qemu ? { qemu: true } : {}),
    }),
  ));
}
