/**
 * A man in the middle of a serial line, for fault tests: `socat -d -d pty,raw,echo=0 pty,raw,echo=0`
 * makes a pty pair; the host opens one end (`hostPty`), and this relay copies bytes between the other end
 * and the board's pty, following the qm-fw frames (devices/_serial_protocol.ts) in both directions and
 * asking a policy, per frame, whether to pass it, flip a byte in it, or drop it. Killing socat (by its
 * PID) is a cable pulled out: the host's pty goes away while the board keeps running.
 *
 * @module
 */

import { FRAME_OVERHEAD, SOF } from "../../devices/_serial_protocol.ts";

/** One frame seen on the line. */
export interface MitmFrame {
  direction: "to-board" | "to-host";
  /** Frames seen so far in this direction (0-based). */
  index: number;
  type: number;
  seq: number;
  length: number;
}

/** What to do with a frame: "corrupt" flips one bit of a byte in its middle (its CRC then fails). */
export type FrameAction = "pass" | "corrupt" | "drop";

/** A running relay. */
export interface SerialMitm {
  /** The pty the host opens. */
  hostPty: string;
  /** socat's PID. */
  socatPid: number;
  /** Frames seen per direction, and what was done to them. */
  readonly counts: { toBoard: number; toHost: number; corrupted: number; dropped: number };
  /** Kills socat (SIGKILL): the host's pty vanishes mid-transfer. */
  pullCable(): void;
  /** Stops relaying, kills socat, closes every handle. Safe to call twice. */
  stop(): Promise<void>;
}

/** Follows frame boundaries in one direction and applies the policy to each frame. */
class FrameEditor {
  private header: number[] = [];
  private at = -1; // position in the current frame; -1: between frames
  private total = 0;
  private action: FrameAction = "pass";
  private flipAt = 0;
  private index = 0;

  constructor(
    private readonly direction: MitmFrame["direction"],
    private readonly policy: (f: MitmFrame) => FrameAction,
    private readonly counts: SerialMitm["counts"],
  ) {}

  edit(chunk: Uint8Array): Uint8Array {
    const out: number[] = [];
    for (const byte of chunk) {
      if (this.at < 0) {
        if (byte !== SOF) {
          out.push(byte);
          continue;
        }
        this.at = 0;
        this.header = [];
      }
      if (this.at < 5) {
        this.header.push(byte);
        this.at++;
        if (this.at === 5) this.decide(out);
        continue;
      }
      let b = byte;
      if (this.action === "corrupt" && this.at === this.flipAt) b ^= 0x10;
      if (this.action !== "drop") out.push(b);
      if (++this.at === this.total) this.at = -1;
    }
    return Uint8Array.from(out);
  }

  private decide(out: number[]): void {
    const [, type, seq, lo, hi] = this.header as [number, number, number, number, number];
    const length = lo | (hi << 8);
    if (length > 4096) { // not a frame start: pass what was held and look for the next SOF
      out.push(...this.header);
      this.at = -1;
      return;
    }
    this.total = FRAME_OVERHEAD + length;
    this.flipAt = length > 0 ? 5 + (length >> 1) : this.total - 1;
    this.action = this.policy({ direction: this.direction, index: this.index++, type, seq, length });
    if (this.direction === "to-board") this.counts.toBoard++;
    else this.counts.toHost++;
    if (this.action === "corrupt") this.counts.corrupted++;
    if (this.action === "drop") this.counts.dropped++;
    if (this.action !== "drop") out.push(...this.header);
  }
}

async function stty(path: string): Promise<void> {
  const r = await new Deno.Command("stty", { args: ["-F", path, "raw", "-echo", "min", "0", "time", "1"] }).output();
  if (r.code !== 0) throw new Error(`stty ${path}: ${new TextDecoder().decode(r.stderr)}`);
}

/**
 * Starts socat and the relay to the board's pty.
 *
 * @example
 * ```ts ignore
 * const mitm = await startSerialMitm(board.pty, (f) => f.direction === "to-board" && f.index === 3 ? "corrupt" : "pass");
 * const t = new SerialTransport(`serial://${mitm.hostPty}`);
 * ```
 */
export async function startSerialMitm(
  boardPty: string,
  policy: (f: MitmFrame) => FrameAction = () => "pass",
): Promise<SerialMitm> {
  const socat = new Deno.Command("socat", {
    args: ["-d", "-d", "pty,raw,echo=0", "pty,raw,echo=0"],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const log = socat.stderr.getReader();
  const files: Deno.FsFile[] = [];
  const counts = { toBoard: 0, toHost: 0, corrupted: 0, dropped: 0 };
  let stopped = false, killed = false;
  const pumps: Promise<void>[] = [];
  const pullCable = () => {
    if (killed) return;
    killed = true;
    try {
      socat.kill("SIGKILL");
    } catch { /* gone */ }
  };
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    pullCable();
    await socat.status;
    await Promise.all(pumps);
    for (const f of files) {
      try {
        f.close();
      } catch { /* closed */ }
    }
    await log.cancel().catch(() => {});
  };
  try {
    let text = "";
    const decoder = new TextDecoder();
    while ([...text.matchAll(/PTY is (\S+)/g)].length < 2) {
      const { value, done } = await log.read();
      if (done) throw new Error(`socat ended: ${text}`);
      text += decoder.decode(value, { stream: true });
    }
    const [hostPty, relayPty] = [...text.matchAll(/PTY is (\S+)/g)].map((m) => m[1]!) as [string, string];
    // Keep reading socat's log so it never blocks on a full pipe.
    (async () => {
      try {
        while (!(await log.read()).done) { /* discard */ }
      } catch { /* cancelled */ }
    })();
    await stty(relayPty);
    await stty(boardPty);
    const open = async (path: string, mode: { read: true } | { write: true }) => {
      const f = await Deno.open(path, mode);
      files.push(f);
      return f;
    };
    const relayIn = await open(relayPty, { read: true }), relayOut = await open(relayPty, { write: true });
    const boardIn = await open(boardPty, { read: true }), boardOut = await open(boardPty, { write: true });
    const pump = async (from: Deno.FsFile, to: Deno.FsFile, editor: FrameEditor) => {
      const buffer = new Uint8Array(4096);
      while (!stopped) {
        let n: number | null;
        try {
          n = await from.read(buffer);
        } catch {
          return; // that side went away
        }
        if (n === null) {
          if (killed) return;
          continue;
        }
        const bytes = editor.edit(buffer.subarray(0, n));
        try {
          for (let off = 0; off < bytes.length;) off += await to.write(bytes.subarray(off));
        } catch {
          return;
        }
      }
    };
    pumps.push(
      pump(relayIn, boardOut, new FrameEditor("to-board", policy, counts)),
      pump(boardIn, relayOut, new FrameEditor("to-host", policy, counts)),
    );
    return { hostPty, socatPid: socat.pid, counts, pullCable, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
