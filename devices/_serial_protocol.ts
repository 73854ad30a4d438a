/**
 * The qm-fw serial protocol, version 2.0: framing, CRC32, a decoder that resyncs after garbage, and the
 * payload of every frame. Pure (no I/O); devices/serial.ts drives it over a tty, and the board side is
 * runtime/firmware/serial_proto.c (+ ram_files.c, board_exec.c), which follows this text byte for byte.
 *
 * ## Frames (both directions; integers little-endian)
 *
 * ```
 *   0      SOF      0xA5
 *   1      type     u8     requests (host → board) < 0x7F, NAK = 0x7F, replies (board → host) ≥ 0x80
 *   2      seq      u8     chosen by the host per request; a reply carries its request's seq
 *   3      length   u16    payload bytes, ≤ the max payload (the board's is in HELLO_REPLY; 1024 here)
 *   5      payload
 *   5+len  crc32    u32    IEEE 802.3 (reflected 0xEDB88320, init and final xor 0xFFFFFFFF) over type..payload
 * ```
 *
 * A receiver skips bytes until a SOF, takes the header, and waits for the whole frame. A length above the
 * max payload means the SOF was not a frame start: drop it and scan on. A CRC mismatch: answer NAK with
 * the frame's seq, drop the SOF and scan on from the next byte (a SOF inside a damaged frame may be the
 * start of the next). A partial frame that gets no byte for a while (board 50 ms, host 100 ms) is given up
 * the same way, so a torn frame cannot hold back the ones behind it.
 *
 * ## Reliability
 *
 * Every request gets exactly one reply with its seq (EXEC: an ACK at once, EXEC_RESULT when the command
 * ends). The host retransmits a request, with the same seq, when the board NAKs it or no reply comes in
 * time (`timeout` plus the time the bytes queued ahead of it need on the wire). When a reply arrives
 * corrupted the host NAKs it and the board sends it again. After `retries` attempts (sends, and NAKs of
 * its damaged reply) the host gives up with DeviceError "protocol" naming the frame type and seq. The board remembers the replies of the last 32
 * requests it answered, and answers a duplicate (a retransmission after a lost reply) from that memory
 * without applying the request twice. DATA and READ go as a sliding window: request i is sent once every
 * request before i − `window` (default 4) is answered, so the line never waits for an ACK and the board
 * holds at most window − 1 DATA pieces out of order (after a lost frame); it counts the bytes of a file
 * present from its start ("received"). While a command runs the host sends the same EXEC again every
 * `timeout` ms as a poll: the board answers ACK while it runs and the result from its memory once done,
 * so a result lost on the line costs one poll, not the whole exec timeout.
 *
 * ## Requests and replies
 *
 * ```
 *   HELLO 0x01   major u8, minor u8, session u32 (random per connection: a new session makes the board
 *                forget the remembered replies of the last one; the same session again is a duplicate)
 *     → HELLO_REPLY 0x81  major u8, minor u8, max payload u16, session u32, store bytes u32, file slots u8,
 *                         0 u8, core clock Hz u32, arena bytes u32, name "qm-fw" NUL, arch NUL
 *                         The host refuses a board whose major differs from its own.
 *   OPEN 0x02    size u32, mode u8 (0 new, 1 resume), name (1–47 bytes)
 *     → ACK 0x80 offset u32: where DATA starts (resume of a partial file of that size: its received bytes)
 *   DATA 0x03    offset u32, bytes (1 to max payload − 4) of the open file → ACK received u32
 *   CLOSE 0x04   name (the open file, every byte received) → CLOSE_REPLY 0x82  size u32, SHA-256 (32)
 *   STAT 0x05    name → STAT_REPLY 0x83  state u8 (0 none, 1 writing, 2 complete), size u32, received u32,
 *                SHA-256 (32) of the received bytes
 *   READ 0x06    offset u32, length u16, name (a complete file) → READ_REPLY 0x84  offset u32, bytes
 *   EXEC 0x07    argv, NUL-separated → ACK, then EXEC_RESULT 0x85  code i32, stdout length u16,
 *                stderr length u16, stdout, stderr (the board keeps 640 and 256 bytes of them)
 *   ABORT 0x08   → ACK state u32 (1: a running command stops, exits 130; 0: nothing was running)
 *   NAK 0x7F     empty; its seq names the damaged frame
 *   any request  → ERROR 0x86  code u8 (1 no such file, 2 no room, 3 invalid, 4 wrong state,
 *                5 no session), message
 * ```
 *
 * A push is STAT (is a partial upload of the same bytes there? its received prefix's SHA-256 must equal
 * the host's), OPEN (new or resume), DATA…, CLOSE; the host compares CLOSE's SHA-256 with its own. A pull
 * is STAT, READ…, and the same comparison. While a command runs the board looks at the line between two
 * inferences only: it answers ABORT, and answers a NAK or a duplicate of the running EXEC with its ACK.
 *
 * ## Commands (EXEC)
 *
 * `run MODEL INPUT OUTPUT [--dump DUMP] [--runs N]` (the .qm artifact on every sample of INPUT, like
 * runtime/tools/qm_run.c, prints `cycles=<mean per qm_run> runs=<qm_run calls> samples=<S> status=<qm>`,
 * exits with the qm_status), `info`, `ls`, `rm NAME`, `sha256 NAME`, `busy MS` (spins without looking at
 * the line: a board that cannot be aborted). Exit codes besides a qm_status: 64 usage, 66 no such file,
 * 73 no room, 127 unknown command, 130 aborted.
 *
 * @module
 */

/**
 * Start of every frame.
 *
 * @example
 * ```ts
 * import { encodeFrame, SOF } from "./_serial_protocol.ts";
 * encodeFrame(0x80, 0, new Uint8Array())[0] === SOF; // true
 * ```
 */
export const SOF = 0xa5;
/**
 * SOF, type, seq, length (2), CRC32 (4).
 *
 * @example
 * ```ts
 * import { FRAME_OVERHEAD } from "./_serial_protocol.ts";
 * 1020 / (1024 + FRAME_OVERHEAD); // a full DATA frame's share of payload: 0.987…
 * ```
 */
export const FRAME_OVERHEAD = 9;
/**
 * The protocol version this host speaks; a board with another major is refused.
 *
 * @example
 * ```ts
 * import { PROTOCOL_VERSION } from "./_serial_protocol.ts";
 * PROTOCOL_VERSION.major; // 2
 * ```
 */
export const PROTOCOL_VERSION = { major: 2, minor: 0 } as const;
/**
 * Longest file name on the board, in bytes.
 *
 * @example
 * ```ts
 * import { encodeName, NAME_MAX } from "./_serial_protocol.ts";
 * encodeName("x".repeat(NAME_MAX)).length; // 47
 * ```
 */
export const NAME_MAX = 47;

/**
 * Frame types, as a table (the board's enum in serial_proto.h has the same numbers).
 *
 * @example
 * ```ts
 * import { FRAME } from "./_serial_protocol.ts";
 * FRAME.EXEC_RESULT; // 0x85
 * ```
 */
export const FRAME = {
  HELLO: 0x01,
  OPEN: 0x02,
  DATA: 0x03,
  CLOSE: 0x04,
  STAT: 0x05,
  READ: 0x06,
  EXEC: 0x07,
  ABORT: 0x08,
  NAK: 0x7f,
  ACK: 0x80,
  HELLO_REPLY: 0x81,
  CLOSE_REPLY: 0x82,
  STAT_REPLY: 0x83,
  READ_REPLY: 0x84,
  EXEC_RESULT: 0x85,
  ERROR: 0x86,
} as const;

/**
 * ERROR codes and what they mean.
 *
 * @example
 * ```ts
 * import { ERROR_CODES } from "./_serial_protocol.ts";
 * ERROR_CODES[2]; // "no room"
 * ```
 */
export const ERROR_CODES: Record<number, string> = {
  1: "no such file",
  2: "no room",
  3: "invalid request",
  4: "wrong state",
  5: "no session",
};

const FRAME_NAMES = new Map<number, string>(Object.entries(FRAME).map(([k, v]) => [v, k]));

/**
 * The name of a frame type, for messages ("DATA", or "0x42" for an unknown one).
 *
 * @example
 * ```ts
 * import { frameName } from "./_serial_protocol.ts";
 * frameName(0x03); // "DATA"
 * ```
 */
export function frameName(type: number): string {
  return FRAME_NAMES.get(type) ?? `0x${type.toString(16).padStart(2, "0")}`;
}

/**
 * A payload (or frame) that breaks the protocol; serial.ts turns it into DeviceError "protocol".
 *
 * @example
 * ```ts
 * import { decodeError, ProtocolError } from "./_serial_protocol.ts";
 * try {
 *   decodeError(new Uint8Array());
 * } catch (e) {
 *   e instanceof ProtocolError; // true
 * }
 * ```
 */
export class ProtocolError extends Error {
  override name = "ProtocolError";
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[i] = c >>> 0;
  }
  return table;
})();

/**
 * CRC-32 (IEEE 802.3, as zlib's crc32) of bytes.
 *
 * @example
 * ```ts
 * import { crc32 } from "./_serial_protocol.ts";
 * crc32(new TextEncoder().encode("123456789")).toString(16); // "cbf43926"
 * ```
 */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * One whole frame on the wire.
 *
 * @example
 * ```ts
 * import { encodeFrame, FRAME } from "./_serial_protocol.ts";
 * encodeFrame(FRAME.NAK, 7, new Uint8Array()).length; // 9
 * ```
 */
export function encodeFrame(type: number, seq: number, payload: Uint8Array): Uint8Array {
  if (payload.length > 0xffff) throw new ProtocolError(`A ${frameName(type)} payload of ${payload.length} bytes`);
  const frame = new Uint8Array(FRAME_OVERHEAD + payload.length);
  const view = new DataView(frame.buffer);
  frame[0] = SOF;
  frame[1] = type;
  frame[2] = seq & 0xff;
  view.setUint16(3, payload.length, true);
  frame.set(payload, 5);
  view.setUint32(5 + payload.length, crc32(frame.subarray(1, 5 + payload.length)), true);
  return frame;
}

/** What the decoder found: a good frame, or a damaged one (to NAK, with the seq its header claims). */
export type DecodedFrame =
  | { kind: "frame"; type: number; seq: number; payload: Uint8Array }
  | { kind: "corrupt"; type: number; seq: number };

/**
 * Turns a byte stream into frames: skips garbage, resyncs on SOF, reports CRC failures. Never throws.
 *
 * @example
 * ```ts
 * import { encodeFrame, FRAME, FrameDecoder } from "./_serial_protocol.ts";
 * const d = new FrameDecoder(1024);
 * const [f] = d.push(Uint8Array.of(1, 2, 3, ...encodeFrame(FRAME.ACK, 9, Uint8Array.of(4, 0, 0, 0))));
 * f?.kind === "frame" && f.seq; // 9
 * ```
 */
export class FrameDecoder {
  private buffer = new Uint8Array(0);

  /** Payloads longer than this make the SOF a false start. */
  constructor(public maxPayload: number) {}

  /** Bytes held for a frame not complete yet. */
  get pending(): number {
    return this.buffer.length;
  }

  /** Adds received bytes; returns every frame they complete, in order. */
  push(bytes: Uint8Array): DecodedFrame[] {
    if (bytes.length === 0) return [];
    const joined = new Uint8Array(this.buffer.length + bytes.length);
    joined.set(this.buffer);
    joined.set(bytes, this.buffer.length);
    this.buffer = joined;
    return this.parse();
  }

  /** The line went quiet: gives up a partial frame (drops its SOF) and returns what the rest holds. */
  idle(): DecodedFrame[] {
    if (this.buffer.length === 0) return [];
    this.drop(1);
    return this.parse();
  }

  private drop(n: number): void {
    let i = n;
    while (i < this.buffer.length && this.buffer[i] !== SOF) i++;
    this.buffer = this.buffer.subarray(i);
  }

  private parse(): DecodedFrame[] {
    const out: DecodedFrame[] = [];
    for (;;) {
      const b = this.buffer;
      if (b.length > 0 && b[0] !== SOF) {
        this.drop(0);
        continue;
      }
      if (b.length < 5) break;
      const length = b[3]! | (b[4]! << 8);
      if (length > this.maxPayload) {
        this.drop(1);
        continue;
      }
      const total = FRAME_OVERHEAD + length;
      if (b.length < total) break;
      const crc = (b[5 + length]! | (b[6 + length]! << 8) | (b[7 + length]! << 16) | (b[8 + length]! << 24)) >>> 0;
      if (crc32(b.subarray(1, 5 + length)) !== crc) {
        out.push({ kind: "corrupt", type: b[1]!, seq: b[2]! });
        this.drop(1);
        continue;
      }
      out.push({ kind: "frame", type: b[1]!, seq: b[2]!, payload: b.slice(5, 5 + length) });
      this.drop(total);
    }
    if (this.buffer.length === 0) this.buffer = new Uint8Array(0);
    return out;
  }
}

// ---- Payloads ----

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: false });

function reader(payload: Uint8Array, what: string, min: number) {
  if (payload.length < min) throw new ProtocolError(`${what} of ${payload.length} bytes is too short (≥ ${min})`);
  return new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
}

/**
 * Bytes of a board file name; refuses names the board cannot hold.
 *
 * @example
 * ```ts
 * import { encodeName } from "./_serial_protocol.ts";
 * encodeName("model.qm").length; // 8
 * ```
 */
export function encodeName(name: string): Uint8Array {
  const bytes = encoder.encode(name);
  if (bytes.length === 0 || bytes.length > NAME_MAX || bytes.includes(0)) {
    throw new ProtocolError(`Cannot use "${name}" as a board file name: 1 to ${NAME_MAX} bytes, no NUL`);
  }
  return bytes;
}

/** What the board said in HELLO_REPLY. */
export interface BoardHello {
  major: number;
  minor: number;
  maxPayload: number;
  session: number;
  storeBytes: number;
  slots: number;
  coreClockHz: number;
  arenaBytes: number;
  /** "qm-fw". */
  name: string;
  /** e.g. "cortex-m3". */
  arch: string;
}

/**
 * HELLO's payload.
 *
 * @example
 * ```ts
 * import { encodeHello } from "./_serial_protocol.ts";
 * encodeHello(0x01020304).length; // 6
 * ```
 */
export function encodeHello(session: number, version: { major: number; minor: number } = PROTOCOL_VERSION): Uint8Array {
  const p = new Uint8Array(6);
  p[0] = version.major;
  p[1] = version.minor;
  new DataView(p.buffer).setUint32(2, session >>> 0, true);
  return p;
}

/**
 * HELLO_REPLY's payload (the board's side; tests use it).
 *
 * @example
 * ```ts
 * import { decodeHelloReply, encodeHelloReply } from "./_serial_protocol.ts";
 * const h = { major: 2, minor: 0, maxPayload: 1024, session: 1, storeBytes: 4096, slots: 8, coreClockHz: 25e6,
 *   arenaBytes: 1024, name: "qm-fw", arch: "cortex-m3" };
 * decodeHelloReply(encodeHelloReply(h)).arch; // "cortex-m3"
 * ```
 */
export function encodeHelloReply(h: BoardHello): Uint8Array {
  const text = encoder.encode(`${h.name}\0${h.arch}\0`);
  const p = new Uint8Array(22 + text.length);
  const v = new DataView(p.buffer);
  p[0] = h.major;
  p[1] = h.minor;
  v.setUint16(2, h.maxPayload, true);
  v.setUint32(4, h.session >>> 0, true);
  v.setUint32(8, h.storeBytes, true);
  p[12] = h.slots;
  v.setUint32(14, h.coreClockHz, true);
  v.setUint32(18, h.arenaBytes, true);
  p.set(text, 22);
  return p;
}

/**
 * Parses HELLO_REPLY.
 *
 * @example
 * ```ts ignore
 * const hello = decodeHelloReply(frame.payload);
 * ```
 */
export function decodeHelloReply(payload: Uint8Array): BoardHello {
  const v = reader(payload, "HELLO_REPLY", 24);
  const [name, arch] = decoder.decode(payload.subarray(22)).split("\0");
  if (arch === undefined) throw new ProtocolError("HELLO_REPLY without its name and arch strings");
  return {
    major: payload[0]!,
    minor: payload[1]!,
    maxPayload: v.getUint16(2, true),
    session: v.getUint32(4, true),
    storeBytes: v.getUint32(8, true),
    slots: payload[12]!,
    coreClockHz: v.getUint32(14, true),
    arenaBytes: v.getUint32(18, true),
    name: name!,
    arch,
  };
}

/**
 * OPEN's payload.
 *
 * @example
 * ```ts
 * import { encodeOpen } from "./_serial_protocol.ts";
 * encodeOpen("m.qm", 100, "new").length; // 9
 * ```
 */
export function encodeOpen(name: string, size: number, mode: "new" | "resume"): Uint8Array {
  const n = encodeName(name);
  const p = new Uint8Array(5 + n.length);
  new DataView(p.buffer).setUint32(0, size, true);
  p[4] = mode === "resume" ? 1 : 0;
  p.set(n, 5);
  return p;
}

/**
 * DATA's payload: an offset and the bytes there.
 *
 * @example
 * ```ts
 * import { encodeData } from "./_serial_protocol.ts";
 * encodeData(1024, new Uint8Array(10)).length; // 14
 * ```
 */
export function encodeData(offset: number, bytes: Uint8Array): Uint8Array {
  const p = new Uint8Array(4 + bytes.length);
  new DataView(p.buffer).setUint32(0, offset, true);
  p.set(bytes, 4);
  return p;
}

/**
 * READ's payload.
 *
 * @example
 * ```ts
 * import { encodeRead } from "./_serial_protocol.ts";
 * encodeRead("out", 0, 1020).length; // 9
 * ```
 */
export function encodeRead(name: string, offset: number, length: number): Uint8Array {
  const n = encodeName(name);
  const p = new Uint8Array(6 + n.length);
  const v = new DataView(p.buffer);
  v.setUint32(0, offset, true);
  v.setUint16(4, length, true);
  p.set(n, 6);
  return p;
}

/**
 * EXEC's payload: argv joined by NUL.
 *
 * @example
 * ```ts
 * import { encodeExec } from "./_serial_protocol.ts";
 * encodeExec(["rm", "x"]).length; // 4
 * ```
 */
export function encodeExec(argv: readonly string[]): Uint8Array {
  if (argv.length === 0) throw new ProtocolError("EXEC needs a command");
  if (argv.some((a) => a.includes("\0"))) throw new ProtocolError("EXEC arguments cannot hold NUL");
  return encoder.encode(argv.join("\0"));
}

/**
 * A u32 at the start of a payload (ACK's value, READ_REPLY's offset).
 *
 * @example
 * ```ts
 * import { decodeU32 } from "./_serial_protocol.ts";
 * decodeU32(Uint8Array.of(1, 1, 0, 0), "ACK"); // 257
 * ```
 */
export function decodeU32(payload: Uint8Array, what: string): number {
  return reader(payload, what, 4).getUint32(0, true);
}

/** CLOSE_REPLY: what the board stored. */
export interface CloseReply {
  size: number;
  /** Lower-case hex. */
  sha256: string;
}

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/**
 * Parses CLOSE_REPLY.
 *
 * @example
 * ```ts
 * import { decodeCloseReply } from "./_serial_protocol.ts";
 * decodeCloseReply(new Uint8Array(36)).size; // 0
 * ```
 */
export function decodeCloseReply(payload: Uint8Array): CloseReply {
  const v = reader(payload, "CLOSE_REPLY", 36);
  return { size: v.getUint32(0, true), sha256: hex(payload.subarray(4, 36)) };
}

/** STAT_REPLY: a file's state on the board. */
export interface StatReply {
  state: "none" | "writing" | "complete";
  size: number;
  received: number;
  /** Lower-case hex SHA-256 of the received bytes. */
  sha256: string;
}

/**
 * Parses STAT_REPLY.
 *
 * @example
 * ```ts
 * import { decodeStatReply } from "./_serial_protocol.ts";
 * decodeStatReply(new Uint8Array(41)).state; // "none"
 * ```
 */
export function decodeStatReply(payload: Uint8Array): StatReply {
  const v = reader(payload, "STAT_REPLY", 41);
  const state = (["none", "writing", "complete"] as const)[payload[0]!];
  if (state === undefined) throw new ProtocolError(`STAT_REPLY with file state ${payload[0]}`);
  return { state, size: v.getUint32(1, true), received: v.getUint32(5, true), sha256: hex(payload.subarray(9, 41)) };
}

/** EXEC_RESULT. */
export interface ExecReply {
  code: number;
  stdout: Uint8Array;
  stderr: Uint8Array;
}

/**
 * Parses EXEC_RESULT.
 *
 * @example
 * ```ts
 * import { decodeExecResult } from "./_serial_protocol.ts";
 * decodeExecResult(Uint8Array.of(127, 0, 0, 0, 0, 0, 1, 0, 33)).stderr; // Uint8Array [ 33 ]
 * ```
 */
export function decodeExecResult(payload: Uint8Array): ExecReply {
  const v = reader(payload, "EXEC_RESULT", 8);
  const out = v.getUint16(4, true), err = v.getUint16(6, true);
  if (8 + out + err !== payload.length) {
    throw new ProtocolError(`EXEC_RESULT of ${payload.length} bytes claims ${out} + ${err} bytes of output`);
  }
  return { code: v.getInt32(0, true), stdout: payload.slice(8, 8 + out), stderr: payload.slice(8 + out) };
}

/** ERROR: a code and the board's message. */
export interface ErrorReply {
  code: number;
  message: string;
}

/**
 * Parses ERROR.
 *
 * @example
 * ```ts
 * import { decodeError } from "./_serial_protocol.ts";
 * decodeError(Uint8Array.of(1, 104, 105)).message; // "hi"
 * ```
 */
export function decodeError(payload: Uint8Array): ErrorReply {
  reader(payload, "ERROR", 1);
  return { code: payload[0]!, message: decoder.decode(payload.subarray(1)) };
}
