import assert from "node:assert/strict";
import { createProgress } from "./progress.ts";

Deno.test("progress on a terminal: one bar redrawn in place, with images/s and ETA over all passes", () => {
  const out: string[] = [];
  let t = 0;
  const p = createProgress({ total: 100, tty: true, write: (s) => out.push(s), now: () => t, columns: 100 });
  t = 2000;
  p.update(0, 2, 50); // 50 of 200 in 2 s → 25/s, 150 left → 6 s
  p.done();
  assert.equal(out.length, 2);
  assert.ok(out[0]!.startsWith("\r\x1b[K"));
  assert.match(
    out[0]!.slice(4),
    /^calibrating \[█+░+\] {2}50% 50\/100 images · 25\.0 images\/s · ETA 0:06 · pass 1\/2$/,
  );
  assert.equal(out[1], "\r\x1b[K");
});

Deno.test("progress in a pipe: plain lines at pass ends and at most every few seconds", () => {
  const out: string[] = [];
  let t = 0;
  const p = createProgress({ total: 10, tty: false, write: (s) => out.push(s), now: () => t, lineInterval: 5 });
  for (let i = 1; i <= 10; i++) {
    t += 1000;
    p.update(0, 2, i);
  }
  for (let i = 1; i <= 10; i++) {
    t += 1000;
    p.update(1, 2, i);
  }
  p.done();
  assert.deepEqual(out, [
    "calibrating: pass 1/2 5/10 images (50 %), 1.0 images/s, ETA 0:15\n",
    "calibrating: pass 1/2 10/10 images (100 %), 1.0 images/s, ETA 0:10\n",
    "calibrating: pass 2/2 5/10 images (50 %), 1.0 images/s, ETA 0:05\n",
    "calibrating: pass 2/2 10/10 images (100 %), 1.0 images/s\n",
  ]);
});

Deno.test("progress with an unknown total: counts and rate, no ETA", () => {
  const out: string[] = [];
  let t = 0;
  const p = createProgress({ total: undefined, tty: true, write: (s) => out.push(s), now: () => t, unit: "samples" });
  t = 1000;
  p.update(0, 1, 8);
  assert.match(out[0]!, /calibrating 8 samples · 8\.0 samples\/s · pass 1\/1$/);
});
