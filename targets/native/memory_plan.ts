/**
 * The memory plan: every activation tensor gets an offset in one arena, from its lifetime (first
 * writing op to last reading op; inputs live from the start, outputs to the end). Greedy by size,
 * largest first, each at the lowest 16-byte-aligned offset clear of every tensor whose lifetime
 * overlaps (TFLite Micro's greedy planner). An op's output never shares bytes with its inputs.
 *
 * @module
 */

import { type Program, tensorBytes } from "../../core/sim/program.ts";

/** Arena alignment of every tensor. */
export const ARENA_ALIGNMENT = 16;

const align = (n: number) => Math.ceil(n / ARENA_ALIGNMENT) * ARENA_ALIGNMENT;

/**
 * Sets `arenaOffset` of every activation tensor and `arenaSize` of the program.
 *
 * @example
 * ```ts
 * import { planMemory } from "./memory_plan.ts";
 * import type { Program } from "../../core/sim/program.ts";
 * const t = (name: string) => ({ name, dtype: "int8" as const, shape: [4], scale: [1], zeroPoint: [0], axis: -1 });
 * const lut = (i: number, o: number) => ({ kind: "Lut" as const, name: "", inputs: [i], outputs: [o], values: new Uint8Array(256) });
 * const p: Program = { version: 1, producer: "", target: "", tensors: [t("a"), t("b"), t("c")],
 *   ops: [lut(0, 1), lut(1, 2)], inputs: [0], outputs: [2], arenaSize: 0 };
 * planMemory(p);
 * [p.tensors[0]!.arenaOffset, p.tensors[2]!.arenaOffset, p.arenaSize]; // [0, 0, 32]: a and c never live together
 * ```
 */
export function planMemory(program: Program): void {
  const first = new Map<number, number>(), last = new Map<number, number>();
  const end = program.ops.length;
  const touch = (t: number, at: number) => {
    if (program.tensors[t]!.data) return;
    if (!first.has(t) || at < first.get(t)!) first.set(t, at);
    if (!last.has(t) || at > last.get(t)!) last.set(t, at);
  };
  for (const t of program.inputs) touch(t, -1);
  program.ops.forEach((op, i) => {
    for (const t of op.inputs) touch(t, i);
    for (const t of op.outputs) touch(t, i);
  });
  for (const t of program.outputs) touch(t, end);
  const order = [...first.keys()].sort((a, b) =>
    tensorBytes(program.tensors[b]!) - tensorBytes(program.tensors[a]!) || first.get(a)! - first.get(b)! || a - b
  );
  const placed: { t: number; offset: number; size: number }[] = [];
  let arenaSize = 0;
  for (const t of order) {
    const size = align(Math.max(1, tensorBytes(program.tensors[t]!)));
    const live = placed
      .filter((p) => first.get(p.t)! <= last.get(t)! && first.get(t)! <= last.get(p.t)!)
      .sort((a, b) => a.offset - b.offset);
    let offset = 0;
    for (const p of live) {
      if (offset + size <= p.offset) break;
      offset = Math.max(offset, p.offset + p.size);
    }
    placed.push({ t, offset, size });
    program.tensors[t]!.arenaOffset = offset;
    arenaSize = Math.max(arenaSize, offset + size);
  }
  program.arenaSize = arenaSize;
}
