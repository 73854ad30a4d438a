/**
 * Retired: the mps2-an385 firmware now speaks the qm-fw serial protocol 2.0 (devices/_serial_protocol.ts)
 * and is driven through `serial://` (devices/serial.ts) on the board of tests/rigs/mps2_board.ts; the
 * cycle measurement lives in bench/mps2_cycles.ts. These exports remain only until bench/native_bench.ts
 * moves to `mps2Cycles` from bench/mps2_cycles.ts; then this file goes.
 *
 * @module
 */

/** Result of one run on the board. */
export interface BoardRun {
  status: number;
  cycles: number;
  outputs: Uint8Array;
  dumps: Uint8Array[];
}

const RETIRED = "targets/native/mps2.ts is retired: the firmware speaks qm-fw/2 over serial:// now " +
  "(use mps2Cycles from bench/mps2_cycles.ts, or devices/serial.ts with tests/rigs/mps2_board.ts)";

/**
 * Retired; throws.
 *
 * @deprecated Use `buildFirmware` from tests/rigs/mps2_board.ts.
 * @example
 * ```ts ignore
 * await buildFirmware(); // throws
 * ```
 */
export function buildFirmware(): Promise<string> {
  return Promise.reject(new Error(RETIRED));
}

/**
 * Retired; `boot` throws.
 *
 * @deprecated Use devices/serial.ts on tests/rigs/mps2_board.ts.
 * @example
 * ```ts ignore
 * await Mps2Board.boot("qm_fw.elf"); // throws
 * ```
 */
export class Mps2Board {
  private constructor() {}

  /** Throws: the old stdio protocol is gone. */
  static boot(_firmware: string): Promise<Mps2Board> {
    return Promise.reject(new Error(RETIRED));
  }

  /** Never reached. */
  load(_artifact: Uint8Array): Promise<number> {
    return Promise.reject(new Error(RETIRED));
  }

  /** Never reached. */
  setInput(_bytes: Uint8Array): Promise<number> {
    return Promise.reject(new Error(RETIRED));
  }

  /** Never reached. */
  run(_dumps = false): Promise<BoardRun> {
    return Promise.reject(new Error(RETIRED));
  }

  /** Never reached. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}
