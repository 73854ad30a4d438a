/**
 * Writes the fuzzing seed corpus: every single-op test program of core/sim/_op_cases_test_util.ts as a
 * `.qm` artifact (small, valid, covering every op kind).
 *
 * Usage: deno run --allow-read --allow-write scripts/native/fuzz_corpus.ts DIR
 *
 * @module
 */

import { opCases } from "../../core/sim/_op_cases_test_util.ts";
import { writeArtifact } from "../../targets/native/writer.ts";

/**
 * The seed artifacts, by file name.
 *
 * @example
 * ```ts
 * import { fuzzCorpus } from "./fuzz_corpus.ts";
 * fuzzCorpus().size > 10; // true
 * ```
 */
export function fuzzCorpus(): Map<string, Uint8Array> {
  const corpus = new Map<string, Uint8Array>();
  opCases(1).forEach((c, i) => corpus.set(`seed-${String(i).padStart(2, "0")}.qm`, writeArtifact(c.program)));
  return corpus;
}

if (import.meta.main) {
  const dir = Deno.args[0];
  if (!dir) {
    console.error("Usage: fuzz_corpus.ts DIR");
    Deno.exit(2);
  }
  await Deno.mkdir(dir, { recursive: true });
  for (const [name, bytes] of fuzzCorpus()) await Deno.writeFile(`${dir}/${name}`, bytes);
}
