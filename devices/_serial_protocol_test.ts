// The qm-fw frame codec: CRC32 against zlib's check value, frames back and forth, resync after garbage,
// damaged frames reported with their seq (and the frames behind them still found), false starts given up
// on a quiet line, and a seeded fuzz: random bytes and damaged streams never make the decoder or the
// payload parsers throw anything but ProtocolError, and every frame left intact is decoded, in order.
import assert from "node:assert/strict";
import { mulberry32 } from "../core/calib/_test_rng.ts";
import {
  crc32,
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
  encodeHelloReply,
  encodeName,
  encodeOpen,
  encodeRead,
  FRAME,
  FrameDecoder,
  frameName,
  ProtocolError,
  SOF,
} from "./_serial_protocol.ts";

const frames = (events: DecodedFrame[]) => events.filter((e) => e.kind === "frame");

Deno.test("crc32 is IEEE 802.3 (zlib's check value) and frames carry it little-endian over type..payload", () => {
  assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
  assert.equal(crc32(new Uint8Array()), 0);
  const f = encodeFrame(FRAME.DATA, 0x2a, Uint8Array.of(1, 2, 3));
  assert.deepEqual([...f.subarray(0, 5)], [SOF, 0x03, 0x2a, 3, 0]);
  const crc = new DataView(f.buffer).getUint32(8, true);
  assert.equal(crc, crc32(f.subarray(1, 8)));
});

Deno.test("frames round-trip whole, byte by byte, and behind garbage", () => {
  const rng = mulberry32(1);
  const sent = Array.from({ length: 20 }, (_, i) => ({
    type: [FRAME.DATA, FRAME.ACK, FRAME.READ_REPLY][i % 3]!,
    seq: i * 13 & 0xff,
    payload: Uint8Array.from({ length: Math.floor(rng() * 300) }, () => Math.floor(rng() * 256)),
  }));
  const stream: number[] = [0x00, SOF, 0xff, 0x12]; // garbage, including a lone SOF
  for (const f of sent) stream.push(...encodeFrame(f.type, f.seq, f.payload), 0x55);
  for (const chunking of [stream.length, 1, 7]) {
    const d = new FrameDecoder(1024);
    const got: DecodedFrame[] = [];
    for (let i = 0; i < stream.length; i += chunking) {
      got.push(...d.push(Uint8Array.from(stream.slice(i, i + chunking))));
    }
    got.push(...d.idle(), ...d.idle());
    const ok = frames(got);
    assert.equal(ok.length, sent.length, `chunks of ${chunking}`);
    ok.forEach((f, i) => {
      assert.equal(f.type, sent[i]!.type);
      assert.equal(f.seq, sent[i]!.seq);
      assert.deepEqual(f.kind === "frame" && f.payload, sent[i]!.payload);
    });
  }
});

Deno.test("a damaged frame is reported with its seq, and the frame behind it is still found", () => {
  const payload = new Uint8Array(40).fill(SOF); // SOF bytes inside: false starts after the damage
  const bad = encodeFrame(FRAME.DATA, 77, payload);
  bad[20] = bad[20]! ^ 0x10;
  const good = encodeFrame(FRAME.DATA, 78, Uint8Array.of(9));
  const d = new FrameDecoder(1024);
  const got = [...d.push(Uint8Array.of(...bad, ...good)), ...d.idle(), ...d.idle(), ...d.idle()];
  assert.deepEqual(got[0], { kind: "corrupt", type: FRAME.DATA, seq: 77 });
  const ok = frames(got);
  assert.equal(ok.length, 1);
  assert.equal(ok[0]!.seq, 78);
});

Deno.test("a length above the max payload is a false start; a quiet line gives up a partial frame", () => {
  const d = new FrameDecoder(64);
  const good = encodeFrame(FRAME.ACK, 5, Uint8Array.of(1, 0, 0, 0));
  assert.equal(frames(d.push(Uint8Array.of(SOF, 1, 2, 0xff, 0xff, ...good))).length, 1);
  // A false SOF claiming 60 bytes swallows a whole frame until the line goes quiet.
  assert.deepEqual(d.push(Uint8Array.of(SOF, 1, 2, 60, 0, ...good)), []);
  assert.ok(d.pending > 0);
  const later = d.idle();
  assert.equal(frames(later).length, 1);
  assert.equal(d.pending, 0);
});

Deno.test("payload codecs: HELLO_REPLY, OPEN, DATA, READ, EXEC, STAT_REPLY, CLOSE_REPLY, EXEC_RESULT, ERROR", () => {
  const hello = {
    major: 2,
    minor: 0,
    maxPayload: 1024,
    session: 0xdeadbeef,
    storeBytes: 2621440,
    slots: 8,
    coreClockHz: 25_000_000,
    arenaBytes: 1 << 20,
    name: "qm-fw",
    arch: "cortex-m3",
  };
  assert.deepEqual(decodeHelloReply(encodeHelloReply(hello)), hello);
  assert.deepEqual([...encodeOpen("m", 258, "resume")], [2, 1, 0, 0, 1, 109]);
  assert.deepEqual([...encodeData(1, Uint8Array.of(7))], [1, 0, 0, 0, 7]);
  assert.deepEqual([...encodeRead("o", 2, 3)], [2, 0, 0, 0, 3, 0, 111]);
  assert.deepEqual(new TextDecoder().decode(encodeExec(["rm", "a b"])), "rm\0a b");
  const stat = new Uint8Array(41);
  stat[0] = 1, stat[1] = 10, stat[5] = 4, stat[9] = 0xab;
  assert.deepEqual(decodeStatReply(stat), { state: "writing", size: 10, received: 4, sha256: "ab" + "00".repeat(31) });
  assert.equal(decodeCloseReply(Uint8Array.of(3, 0, 0, 0, ...new Uint8Array(32))).size, 3);
  const r = decodeExecResult(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 2, 0, 1, 0, 104, 105, 33));
  assert.deepEqual([r.code, [...r.stdout], [...r.stderr]], [-1, [104, 105], [33]]);
  assert.deepEqual(decodeError(Uint8Array.of(2, 120)), { code: 2, message: "x" });
  assert.equal(decodeU32(Uint8Array.of(0, 1, 0, 0), "ACK"), 256);
  assert.equal(frameName(FRAME.EXEC_RESULT), "EXEC_RESULT");
  assert.equal(frameName(0x42), "0x42");
  assert.throws(() => encodeName(""), ProtocolError);
  assert.throws(() => encodeName("x".repeat(48)), ProtocolError);
  assert.throws(() => encodeExec([]), ProtocolError);
  assert.throws(() => decodeExecResult(Uint8Array.of(0, 0, 0, 0, 5, 0, 0, 0)), ProtocolError);
  assert.throws(() => decodeStatReply(Uint8Array.of(3, ...new Uint8Array(40))), ProtocolError);
});

Deno.test("fuzz: random and damaged streams never throw; every intact frame is decoded in order", () => {
  const rng = mulberry32(2024);
  const int = (n: number) => Math.floor(rng() * n);
  const parsers = [
    decodeHelloReply,
    decodeStatReply,
    decodeCloseReply,
    decodeExecResult,
    decodeError,
    (p: Uint8Array) => decodeU32(p, "ACK"),
  ];
  for (let round = 0; round < 300; round++) {
    const maxPayload = [16, 64, 1024][round % 3]!;
    const d = new FrameDecoder(maxPayload);
    // A stream of frames, some damaged (a flipped bit, a lost byte, an inserted byte), with garbage between.
    const intact: { type: number; seq: number; payload: Uint8Array }[] = [];
    const stream: number[] = [];
    for (let i = 0; i < 30; i++) {
      if (rng() < 0.2) { for (let g = int(8); g > 0; g--) stream.push(rng() < 0.3 ? SOF : int(256)); }
      const payload = Uint8Array.from({ length: int(maxPayload + 1) }, () => (rng() < 0.1 ? SOF : int(256)));
      const f = { type: int(256), seq: i, payload };
      const bytes = [...encodeFrame(f.type, f.seq, payload)];
      const damage = rng();
      if (damage < 0.15) {
        const at = 1 + int(bytes.length - 1); // not the SOF: the frame must fail its CRC, not vanish
        bytes[at] = bytes[at]! ^ (1 << int(8));
      } else if (damage < 0.25) {
        bytes.splice(1 + int(bytes.length - 1), 1);
      } else if (damage < 0.3) {
        bytes.splice(1 + int(bytes.length - 1), 0, int(256));
      } else {
        intact.push(f);
      }
      stream.push(...bytes);
    }
    const got: DecodedFrame[] = [];
    for (let i = 0; i < stream.length;) {
      const n = 1 + int(200);
      got.push(...d.push(Uint8Array.from(stream.slice(i, i + n))));
      i += n;
    }
    while (d.pending > 0) got.push(...d.idle());
    const decoded = frames(got);
    // Frames no damage touched all come out, in order (a damaged one passing CRC32 is a 2^-32 event).
    let k = 0;
    for (const f of decoded) {
      if (k < intact.length && f.seq === intact[k]!.seq && f.kind === "frame") {
        assert.equal(f.type, intact[k]!.type);
        assert.deepEqual(f.payload, intact[k]!.payload);
        k++;
      }
    }
    assert.equal(k, intact.length, `round ${round}: ${intact.length - k} intact frames lost`);
    // Pure noise with quiet spells anywhere, and the payload parsers on random bytes: nothing but ProtocolError.
    const noise = Uint8Array.from({ length: int(3000) }, () => (rng() < 0.05 ? SOF : int(256)));
    const n = new FrameDecoder(maxPayload);
    for (let i = 0; i < noise.length; i += 64) {
      n.push(noise.subarray(i, i + 64));
      if (rng() < 0.2) n.idle();
    }
    for (const parse of parsers) {
      try {
        parse(noise.subarray(0, int(80)));
      } catch (e) {
        assert.ok(e instanceof ProtocolError, String(e));
      }
    }
  }
});
