/**
 * `serial:///dev/ttyX?baud=115200[&retries=5&timeout=2000&window=4]`: a qm-fw board (the runtime as
 * Cortex-M firmware, runtime/firmware/) on a serial line, spoken to in the framed protocol of
 * {@link ./_serial_protocol.ts}: CRC32 on every frame, NAK and retransmission, duplicate replies from the
 * board's memory, a window of DATA / READ frames in flight. push stores into the board's RAM file store
 * and compares the SHA-256 the board computed; a push interrupted by a disconnect resumes from what the
 * board confirms it holds. exec runs one of the firmware's commands (`run`, `info`, `ls`, `rm`,
 * `sha256`, `busy`).
 *
 * The line is set up with `stty` (through the injectable {@link Spawner}): the baud rate, raw, no echo,
 * and reads that return after 100 ms of silence, so the reader notices a quiet line and a closed
 * transport. Reading and writing use two handles on the tty (one handle for both hangs under Deno).
 *
 * Query parameters: `baud` (default 115200), `retries` (sends of one frame before giving up, default 5),
 * `timeout` (ms to wait for a reply beyond the bytes' time on the wire, default 2000), `window` (DATA or
 * READ frames in flight, default 4).
 *
 * @module
 */

import {
  checkExit,
  denoSpawner,
  DeviceError,
  type DeviceInfo,
  type ExecOptions,
  type ExecResult,
  type PushResult,
  sha256Hex,
  type Spawner,
  type Transport,
} from "./transport.ts";
import {
  type BoardHello,
  decodeCloseReply,
  type DecodedFrame,
  decodeError,
  decodeExecResult,
  decodeHelloReply,
  decodeStatReply,
  decodeU32,
  encodeData,
  encodeExec,
  encodeFrame,
  encodeHello,
  encodeName,
  encodeOpen,
  encodeRead,
  ERROR_CODES,
  FRAME,
  FRAME_OVERHEAD,
  FrameDecoder,
  frameName,
  PROTOCOL_VERSION,
  ProtocolError,
  type StatReply,
} from "./_serial_protocol.ts";

/** What `serial://` URLs configure. */
export interface SerialSettings {
  path: string;
  baud: number;
  /** Sends of one frame before the transport gives up. */
  retries: number;
  /** Milliseconds to wait for a reply, beyond the time its bytes need on the wire. */
  timeoutMs: number;
  /** DATA or READ frames in flight at once. */
  window: number;
}

/**
 * Reads a `serial://` URL.
 *
 * @example
 * ```ts
 * import { parseSerialUrl } from "./serial.ts";
 * parseSerialUrl("serial:///dev/ttyUSB0?baud=921600").baud; // 921600
 * ```
 */
export function parseSerialUrl(url: URL | string): SerialSettings {
  const u = typeof url === "string" ? new URL(url) : url;
  if (u.protocol !== "serial:") throw new DeviceError("url", `"${u.href}" is not a serial:// URL`);
  const path = decodeURIComponent(u.pathname);
  if (u.host !== "" || !path.startsWith("/") || path === "/") {
    throw new DeviceError("url", `Cannot parse serial URL "${u.href}": expected serial:///dev/ttyX?baud=115200`);
  }
  const known = new Set(["baud", "retries", "timeout", "window"]);
  for (const key of u.searchParams.keys()) {
    if (!known.has(key)) {
      throw new DeviceError("url", `Unknown parameter "${key}" in "${u.href}"; known: ${[...known]}`);
    }
  }
  const int = (key: string, fallback: number, min: number, max: number) => {
    const text = u.searchParams.get(key);
    if (text === null) return fallback;
    const v = Number(text);
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new DeviceError("url", `Cannot use ${key}=${text} in "${u.href}": an integer from ${min} to ${max}`);
    }
    return v;
  };
  return {
    path,
    baud: int("baud", 115200, 50, 4_000_000),
    retries: int("retries", 5, 1, 100),
    timeoutMs: int("timeout", 2000, 10, 600_000),
    window: int("window", 4, 1, 8),
  };
}

/** `push`'s result, and where the upload started (> 0: it resumed a partial upload). */
export interface SerialPushResult extends PushResult {
  resumedFrom: number;
}

/** Counters of the link since connect (the bench and the fault tests read them). */
export interface SerialLinkStats {
  framesSent: number;
  /** Frames sent again (after a NAK or a timeout). */
  retransmits: number;
  /** NAKs from the board (it got a damaged frame). */
  naksReceived: number;
  /** Damaged frames from the board (each NAKed). */
  corruptReceived: number;
  timeouts: number;
  bytesSent: number;
  bytesReceived: number;
}

interface Pending {
  seq: number;
  type: number;
  frame: Uint8Array;
  /** Which replies answer it (ERROR always does). */
  accepts: (f: { type: number; payload: Uint8Array }) => boolean;
  replyBytes: number;
  maxSends: number;
  /** Sends of the request. */
  sends: number;
  /** NAKs the board sent for it (it arrived damaged). */
  boardNaks: number;
  /** NAKs the host sent for its reply (that arrived damaged): each costs an attempt like a send. */
  hostNaks: number;
  /** Deadlines passed with no reply. */
  unanswered: number;
  deadline: number;
  what: string;
  resolve: (f: Reply) => void;
  reject: (e: unknown) => void;
}

interface Reply {
  type: number;
  seq: number;
  payload: Uint8Array;
}

/**
 * A qm-fw board on a serial line.
 *
 * @example
 * ```ts ignore
 * const t = new SerialTransport("serial:///dev/ttyACM0?baud=921600");
 * await t.connect();
 * await t.push(await Deno.readFile("m.qm"), "m.qm");
 * await t.push(inputs, "in.bin");
 * const r = await t.exec(["run", "m.qm", "in.bin", "out.bin"]);
 * const outputs = await t.pull("out.bin");
 * await t.close();
 * ```
 */
export class SerialTransport implements Transport {
  readonly url: string;
  readonly settings: SerialSettings;
  /** Counters since connect. */
  readonly stats: SerialLinkStats = {
    framesSent: 0,
    retransmits: 0,
    naksReceived: 0,
    corruptReceived: 0,
    timeouts: 0,
    bytesSent: 0,
    bytesReceived: 0,
  };
  private readonly spawner: Spawner;
  private input: Deno.FsFile | null = null;
  private output: Deno.FsFile | null = null;
  private decoder = new FrameDecoder(1024);
  private pending = new Map<number, Pending>();
  private results = new Map<number, { resolve: (f: Reply) => void; reject: (e: unknown) => void }>();
  private failure: DeviceError | null = null;
  private closing = false;
  private reading: Promise<void> = Promise.resolve();
  private writing: Promise<void> = Promise.resolve();
  private operations: Promise<unknown> = Promise.resolve();
  private ticker: ReturnType<typeof setInterval> | undefined;
  private nextSeq = crypto.getRandomValues(new Uint8Array(1))[0]!;
  private hello: BoardHello | null = null;

  constructor(url: URL | string, options: { spawner?: Spawner } = {}) {
    this.settings = parseSerialUrl(url);
    this.url = `serial://${this.settings.path}`;
    this.spawner = options.spawner ?? denoSpawner;
  }

  /** What the board said when it greeted (null before connect). */
  get board(): BoardHello | null {
    return this.hello;
  }

  /** Sets up the line, opens it and greets the board (HELLO, version check). */
  async connect(): Promise<void> {
    if (this.hello) return;
    if (this.closing) throw new DeviceError("disconnected", `${this.url}: the transport is closed`);
    await this.configureLine();
    try {
      this.input = await Deno.open(this.settings.path, { read: true });
      this.output = await Deno.open(this.settings.path, { write: true });
    } catch (e) {
      this.input?.close();
      this.input = null;
      throw new DeviceError("unreachable", `${this.url}: cannot open ${this.settings.path}: ${(e as Error).message}`, {
        cause: e,
      });
    }
    this.failure = null;
    this.reading = this.readLoop();
    this.ticker = setInterval(() => this.tick(), 20);
    try {
      this.hello = await this.greet();
    } catch (e) {
      await this.shutdown();
      throw e;
    }
  }

  private async configureLine(): Promise<void> {
    const { path, baud } = this.settings;
    const args = ["-F", path, String(baud), "raw", "-echo", "min", "0", "time", "1"];
    let code: number, stderr: string;
    try {
      const p = this.spawner("stty", args);
      await p.stdin.close().catch(() => {});
      const [out, err, status] = await Promise.all([
        new Response(p.stdout).arrayBuffer(),
        new Response(p.stderr).text(),
        p.status,
      ]);
      void out;
      code = status.code;
      stderr = err.trim();
    } catch (e) {
      throw new DeviceError("unreachable", `${this.url}: cannot run stty: ${(e as Error).message}`, { cause: e });
    }
    if (code !== 0) {
      throw new DeviceError("unreachable", `${this.url}: cannot set up the line (stty ${args.join(" ")}): ${stderr}`, {
        code,
        stderr,
      });
    }
  }

  private async greet(): Promise<BoardHello> {
    const session = crypto.getRandomValues(new Uint32Array(1))[0]!;
    let reply: Reply;
    try {
      reply = await this.request(FRAME.HELLO, encodeHello(session), {
        accepts: (f) => f.type === FRAME.HELLO_REPLY && f.payload.length >= 8 && readU32(f.payload, 4) === session,
        what: "",
      });
    } catch (e) {
      // Not one byte came back: nothing is on the line (a garbled answer is a protocol error instead).
      if (e instanceof DeviceError && e.kind === "protocol" && this.stats.bytesReceived === 0) {
        throw new DeviceError(
          "unreachable",
          `${this.url}: no board answered HELLO (${this.settings.retries} tries, ${this.settings.timeoutMs} ms ` +
            `each): is a qm-fw board on ${this.settings.path}, at ${this.settings.baud} baud?`,
          { cause: e },
        );
      }
      throw e;
    }
    const hello = this.parse(() => decodeHelloReply(this.expect(reply, FRAME.HELLO_REPLY, "HELLO")));
    if (hello.major !== PROTOCOL_VERSION.major) {
      throw new DeviceError(
        "protocol",
        `${this.url}: the board speaks qm-fw protocol ${hello.major}.${hello.minor}, this host ` +
          `${PROTOCOL_VERSION.major}.${PROTOCOL_VERSION.minor}: flash matching firmware (scripts/native/build_firmware.sh)`,
      );
    }
    if (hello.maxPayload < 64) {
      throw new DeviceError("protocol", `${this.url}: the board's max payload is ${hello.maxPayload}`);
    }
    this.decoder.maxPayload = hello.maxPayload;
    return hello;
  }

  /**
   * Stores bytes (or a local file) as a board file, then compares the SHA-256 the board computed over
   * what it stored. A partial upload of the same bytes (an earlier push cut off) is resumed.
   */
  push(data: Uint8Array | { path: string }, remote: string): Promise<SerialPushResult> {
    return this.serialized(async () => {
      const t0 = performance.now();
      const bytes = data instanceof Uint8Array ? data : await Deno.readFile(data.path);
      const name = this.name(remote);
      const sha256 = await sha256Hex(bytes);
      const stat = await this.statNow(name);
      let from = 0;
      if (
        stat.state === "writing" && stat.size === bytes.length && stat.received > 0 &&
        stat.sha256 === await sha256Hex(bytes.subarray(0, stat.received))
      ) {
        from = stat.received;
      }
      const opened = await this.request(FRAME.OPEN, encodeOpen(name, bytes.length, from > 0 ? "resume" : "new"), {
        accepts: (f) => f.type === FRAME.ACK,
        what: ` ${name}`,
      });
      const start = this.parse(() => decodeU32(this.expect(opened, FRAME.ACK, `OPEN ${name}`), "ACK"));
      if (start !== from) {
        throw new DeviceError("protocol", `${this.url}: OPEN ${name} answered offset ${start}, expected ${from}`);
      }
      const chunk = this.hello!.maxPayload - 4;
      const count = Math.ceil((bytes.length - from) / chunk);
      await this.windowed(count, async (i) => {
        const offset = from + i * chunk;
        const reply = await this.request(FRAME.DATA, encodeData(offset, bytes.subarray(offset, offset + chunk)), {
          accepts: (f) => f.type === FRAME.ACK,
          what: ` at offset ${offset} of ${name}`,
        });
        this.expect(reply, FRAME.ACK, `DATA ${name}`);
      });
      const closed = await this.request(FRAME.CLOSE, encodeName(name), {
        accepts: (f) => f.type === FRAME.CLOSE_REPLY,
        what: ` ${name}`,
      });
      const board = this.parse(() => decodeCloseReply(this.expect(closed, FRAME.CLOSE_REPLY, `CLOSE ${name}`)));
      if (board.size !== bytes.length || board.sha256 !== sha256) {
        throw new DeviceError(
          "verify",
          `${this.url}: ${name} on the board (${board.size} bytes, sha256 ${board.sha256}) differs from the ` +
            `${bytes.length} bytes sent (sha256 ${sha256})`,
        );
      }
      return { remote: name, bytes: bytes.length, sha256, ms: performance.now() - t0, resumedFrom: from };
    });
  }

  /** Reads a complete board file; its SHA-256 is checked against the board's. */
  pull(remote: string): Promise<Uint8Array> {
    return this.serialized(async () => {
      const name = this.name(remote);
      const stat = await this.statNow(name);
      if (stat.state !== "complete") {
        throw new DeviceError(
          "exit",
          `${this.url}: cannot pull ${name}: ${stat.state === "none" ? "no such file" : "still being written"}`,
        );
      }
      const out = new Uint8Array(stat.size);
      const chunk = this.hello!.maxPayload - 4;
      await this.windowed(Math.ceil(stat.size / chunk), async (i) => {
        const offset = i * chunk, length = Math.min(chunk, stat.size - offset);
        const reply = await this.request(FRAME.READ, encodeRead(name, offset, length), {
          accepts: (f) => f.type === FRAME.READ_REPLY,
          what: ` at offset ${offset} of ${name}`,
          replyBytes: length + 4,
        });
        const payload = this.expect(reply, FRAME.READ_REPLY, `READ ${name}`);
        const at = this.parse(() => decodeU32(payload, "READ_REPLY"));
        if (at !== offset || payload.length - 4 !== length) {
          throw new DeviceError(
            "protocol",
            `${this.url}: READ ${name} at ${offset} got ${payload.length - 4} bytes at ${at}`,
          );
        }
        out.set(payload.subarray(4), offset);
      });
      const sha = await sha256Hex(out);
      if (sha !== stat.sha256) {
        throw new DeviceError(
          "verify",
          `${this.url}: ${name} read back with sha256 ${sha}, the board has ${stat.sha256}`,
        );
      }
      return out;
    });
  }

  /**
   * Runs a firmware command. The board has no working directory or environment: `cwd` and `env` are
   * refused. On timeout the board is sent ABORT (it stops `run` between two inferences); the error says
   * whether it answered or is hung.
   */
  exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    return this.serialized(async () => {
      if (options.cwd !== undefined || (options.env && Object.keys(options.env).length > 0)) {
        throw new DeviceError("exit", `${this.url}: a qm-fw board has no working directory or environment`);
      }
      const timeoutMs = options.timeoutMs ?? 60_000;
      const payload = this.parse(() => encodeExec(argv));
      if (payload.length > this.hello!.maxPayload) {
        throw new DeviceError(
          "exit",
          `${this.url}: the command line is ${payload.length} bytes, the board takes ${this.hello!.maxPayload}`,
        );
      }
      const seq = this.allocateSeq();
      const deadline = performance.now() + timeoutMs;
      const result = new Promise<Reply>((resolve, reject) => this.results.set(seq, { resolve, reject }));
      result.catch(() => {});
      let reply: Reply | null = null;
      try {
        const first = await this.request(FRAME.EXEC, payload, {
          seq,
          accepts: (f) => f.type === FRAME.ACK || f.type === FRAME.EXEC_RESULT,
          what: ` ${argv[0]}`,
        });
        if (first.type === FRAME.ERROR) this.expect(first, FRAME.ACK, `EXEC ${argv[0]}`);
        if (first.type === FRAME.EXEC_RESULT) reply = first;
        const poll = encodeFrame(FRAME.EXEC, seq, payload);
        while (reply === null) {
          const left = deadline - performance.now();
          if (left <= 0) throw TIMED_OUT;
          try {
            reply = await this.within(result, Math.min(left, this.settings.timeoutMs));
          } catch (e) {
            if (e !== TIMED_OUT) throw e;
            // The same EXEC again, as a poll: the board answers ACK while the command runs and the result
            // from its memory once it ended (so a result lost on the line is not waited for in vain).
            if (performance.now() < deadline) {
              this.stats.retransmits++;
              this.write(poll);
            }
          }
        }
      } catch (e) {
        if (e !== TIMED_OUT) throw e;
        throw await this.abortAfterTimeout(argv, timeoutMs);
      } finally {
        this.results.delete(seq);
      }
      const r = this.parse(() => decodeExecResult(reply.payload));
      const exec: ExecResult = { stdout: r.stdout, stderr: r.stderr, code: r.code };
      return options.check === false ? exec : checkExit(this.url, argv, exec);
    });
  }

  private async abortAfterTimeout(argv: readonly string[], timeoutMs: number): Promise<DeviceError> {
    const what = `${this.url}: \`${argv.join(" ")}\` timed out after ${timeoutMs} ms`;
    try {
      const reply = await this.request(FRAME.ABORT, new Uint8Array(), {
        accepts: (f) => f.type === FRAME.ACK,
        what: "",
        maxSends: 2,
      });
      const state = reply.type === FRAME.ACK && reply.payload.length >= 4 ? readU32(reply.payload, 0) : -1;
      return new DeviceError(
        "timeout",
        `${what}; ${state === 1 ? "the board aborted it" : "the board answered ABORT with nothing running"}`,
      );
    } catch (e) {
      if (e instanceof DeviceError && e.kind === "disconnected") return e;
      return new DeviceError(
        "timeout",
        `${what}, and the board did not answer ABORT either: it is hung (reset it)`,
        { cause: e },
      );
    }
  }

  /** STAT of a board file (state, size, bytes received, their SHA-256). */
  stat(remote: string): Promise<StatReply> {
    return this.serialized(() => this.statNow(remote));
  }

  private async statNow(remote: string): Promise<StatReply> {
    const name = this.name(remote);
    const reply = await this.request(FRAME.STAT, encodeName(name), {
      accepts: (f) => f.type === FRAME.STAT_REPLY,
      what: ` ${name}`,
    });
    return this.parse(() => decodeStatReply(this.expect(reply, FRAME.STAT_REPLY, `STAT ${name}`)));
  }

  /** From the board's HELLO: arch, firmware and clock. */
  async info(): Promise<DeviceInfo> {
    await this.connect();
    const h = this.hello!;
    return {
      arch: h.arch,
      cpuModel: `${h.arch} at ${h.coreClockHz / 1e6} MHz (${h.name} ${h.major}.${h.minor})`,
      cores: 1,
      os: `${h.name}/${h.major}.${h.minor}`,
    };
  }

  /** Closes the line (the board keeps its RAM files). Safe to call twice. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await this.shutdown();
  }

  private async shutdown(): Promise<void> {
    this.fail(new DeviceError("disconnected", `${this.url}: the transport was closed`));
    clearInterval(this.ticker);
    this.ticker = undefined;
    await this.reading;
    await this.writing;
    for (const f of [this.input, this.output]) {
      try {
        f?.close();
      } catch { /* already closed */ }
    }
    this.input = this.output = null;
    this.hello = null;
  }

  // ---- Requests, retransmission, window ----

  private async serialized<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.operations.then(async () => {
      await this.connect();
      return await operation();
    });
    this.operations = run.catch(() => {});
    return await run;
  }

  private name(remote: string): string {
    this.parse(() => encodeName(remote));
    return remote;
  }

  private allocateSeq(): number {
    do this.nextSeq = (this.nextSeq + 1) & 0xff; while (
      this.pending.has(this.nextSeq) || this.results.has(this.nextSeq)
    );
    return this.nextSeq;
  }

  private request(
    type: number,
    payload: Uint8Array,
    options: {
      accepts: Pending["accepts"];
      what: string;
      seq?: number;
      replyBytes?: number;
      maxSends?: number;
    },
  ): Promise<Reply> {
    if (this.failure) return Promise.reject(this.failure);
    const seq = options.seq ?? this.allocateSeq();
    return new Promise<Reply>((resolve, reject) => {
      const p: Pending = {
        seq,
        type,
        frame: encodeFrame(type, seq, payload),
        accepts: options.accepts,
        replyBytes: FRAME_OVERHEAD + (options.replyBytes ?? 41),
        maxSends: options.maxSends ?? this.settings.retries,
        sends: 0,
        boardNaks: 0,
        hostNaks: 0,
        unanswered: 0,
        deadline: 0,
        what: options.what,
        resolve,
        reject,
      };
      this.pending.set(seq, p);
      this.send(p);
    });
  }

  /** Sends (or sends again) a request; its deadline counts the bytes queued ahead of it on the wire. */
  private send(p: Pending): void {
    if (p.sends > 0) this.stats.retransmits++;
    p.sends++;
    let queued = 0;
    for (const q of this.pending.values()) queued += q.frame.length + q.replyBytes;
    p.deadline = performance.now() + this.settings.timeoutMs + (queued * 10_000) / this.settings.baud;
    this.write(p.frame);
  }

  /** An attempt failed (a NAK, a damaged reply, silence): try again, or give up once every attempt is used. */
  private retry(p: Pending, why: "boardNaks" | "hostNaks" | "unanswered", again: () => void): void {
    if (why !== "hostNaks") p[why]++;
    if (p.sends + p.hostNaks >= p.maxSends) {
      if (why === "hostNaks") p.hostNaks++;
      this.pending.delete(p.seq);
      const corrupted = p.boardNaks + p.hostNaks;
      p.reject(
        new DeviceError(
          "protocol",
          `${this.url}: ${frameName(p.type)} frame (seq ${p.seq}${p.what}) failed ${corrupted + p.unanswered} ` +
            `times: frame corrupted ${corrupted} times, no answer ${p.unanswered} times`,
        ),
      );
      return;
    }
    if (why === "hostNaks") p.hostNaks++;
    again();
  }

  private write(bytes: Uint8Array): void {
    this.stats.framesSent++;
    this.stats.bytesSent += bytes.length;
    this.writing = this.writing.then(async () => {
      if (this.failure || !this.output) return;
      let off = 0;
      while (off < bytes.length) off += await this.output.write(bytes.subarray(off));
    }).catch((e) => {
      this.fail(
        new DeviceError("disconnected", `${this.url}: the line went away while writing: ${(e as Error).message}`, {
          cause: e,
        }),
      );
    });
  }

  private tick(): void {
    const now = performance.now();
    for (const p of [...this.pending.values()]) {
      if (p.deadline > now) continue;
      this.stats.timeouts++;
      this.retry(p, "unanswered", () => this.send(p));
    }
  }

  private async readLoop(): Promise<void> {
    const buffer = new Uint8Array(16_384);
    while (!this.failure && this.input) {
      let n: number | null;
      try {
        n = await this.input.read(buffer);
      } catch (e) {
        this.fail(
          new DeviceError("disconnected", `${this.url}: the line went away: ${(e as Error).message}`, { cause: e }),
        );
        return;
      }
      if (this.failure) return;
      if (n !== null) this.stats.bytesReceived += n;
      const frames = n === null ? this.decoder.idle() : this.decoder.push(buffer.subarray(0, n));
      for (const f of frames) this.onFrame(f);
    }
  }

  private onFrame(f: DecodedFrame): void {
    const p = this.pending.get(f.seq);
    if (f.kind === "corrupt") {
      this.stats.corruptReceived++;
      // Most likely the reply to p: ask for it again (the board answers a NAK from its memory).
      if (p) {
        this.retry(p, "hostNaks", () => {
          p.deadline = performance.now() + this.settings.timeoutMs + (p.replyBytes * 10_000) / this.settings.baud;
          this.write(encodeFrame(FRAME.NAK, p.seq, new Uint8Array()));
        });
      } else if (this.results.has(f.seq)) this.write(encodeFrame(FRAME.NAK, f.seq, new Uint8Array()));
      return;
    }
    if (f.type === FRAME.NAK) {
      this.stats.naksReceived++;
      if (p) this.retry(p, "boardNaks", () => this.send(p));
      return;
    }
    const reply: Reply = { type: f.type, seq: f.seq, payload: f.payload };
    if (f.type === FRAME.EXEC_RESULT) this.results.get(f.seq)?.resolve(reply);
    if (p && (f.type === FRAME.ERROR || p.accepts(reply))) {
      this.pending.delete(f.seq);
      p.resolve(reply);
    }
  }

  private fail(error: DeviceError): void {
    if (this.failure) return;
    this.failure = error;
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
    for (const r of this.results.values()) r.reject(error);
    this.results.clear();
  }

  /**
   * Runs requests 0..count-1 as a sliding window: request i goes out only once every request before
   * i − window is answered, so the board never holds more than window − 1 pieces out of order. The first
   * failure stops the rest.
   */
  private async windowed(count: number, run: (i: number) => Promise<void>): Promise<void> {
    const inFlight = new Map<number, Promise<void>>();
    const done = new Set<number>();
    let base = 0, next = 0, error: unknown = null;
    while (base < count && error === null) {
      while (next < count && next < base + this.settings.window) {
        const i = next++;
        inFlight.set(
          i,
          run(i).then(() => void done.add(i), (e) => void (error ??= e)).finally(() => inFlight.delete(i)),
        );
      }
      await Promise.race(inFlight.values());
      while (done.has(base)) done.delete(base++);
    }
    await Promise.all(inFlight.values());
    if (error !== null) throw error;
  }

  private within<T>(promise: Promise<T>, ms: number): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => timer = setTimeout(() => reject(TIMED_OUT), Math.max(0, ms)));
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }

  /** The payload of a reply of the expected type; an ERROR reply becomes a DeviceError. */
  private expect(reply: Reply, type: number, what: string): Uint8Array {
    if (reply.type === type) return reply.payload;
    if (reply.type === FRAME.ERROR) {
      const e = this.parse(() => decodeError(reply.payload));
      const meaning = ERROR_CODES[e.code] ?? `error ${e.code}`;
      // The board refused (no such file, no room, a bad name): like a failed command. Wrong state or no
      // session: the two sides disagree about the protocol.
      const kind = e.code === 4 || e.code === 5 ? "protocol" : "exit";
      throw new DeviceError(kind, `${this.url}: ${what}: the board refused: ${meaning} (${e.message})`, {
        code: e.code,
        stderr: e.message,
      });
    }
    throw new DeviceError("protocol", `${this.url}: ${what} was answered with ${frameName(reply.type)}`);
  }

  private parse<T>(f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof ProtocolError) {
        throw new DeviceError("protocol", `${this.url}: ${e.message}`, { cause: e });
      }
      throw e;
    }
  }
}

const TIMED_OUT = Symbol("timed out");

function readU32(bytes: Uint8Array, at: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(at, true);
}

/**
 * The `serial://` opener for devices/mod.ts.
 *
 * @example
 * ```ts
 * import { openSerial } from "./serial.ts";
 * openSerial(new URL("serial:///dev/ttyUSB0?baud=921600"), {}).url; // "serial:///dev/ttyUSB0"
 * ```
 */
export function openSerial(url: URL, options: { spawner?: Spawner }): SerialTransport {
  return new SerialTransport(url, options.spawner ? { spawner: options.spawner } : {});
}
