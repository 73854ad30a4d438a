/**
 * `deno task bench --peers`: the side-by-side bench (harness.ts) on every bench
 * model (or `--models a,b`), printed as one table and written to
 * out/bench-peers.json. Needs `scripts/peers/setup` once. Exits non-zero, naming
 * the tool and the model, when any tool failed on any model.
 *
 * @module
 */

import { writeFileAtomic } from "../../cli/files.ts";
import { BENCH_MODELS } from "../fixtures.ts";
import { formatPeerReport } from "./format.ts";
import { PeersNotInstalledError, REPO_ROOT, runPeerBench } from "./harness.ts";

/** Where the bench writes its JSON (the README section is generated from it). */
export const PEER_REPORT_PATH = "out/bench-peers.json";

/**
 * Runs the bench and prints it; returns the process exit code (0 only when every tool produced every number).
 *
 * @example
 * ```ts ignore
 * Deno.exit(await peersMain({ models: ["fmnist_mobilenet"] }));
 * ```
 */
export async function peersMain(options: { models?: string[]; evalLimit?: number } = {}): Promise<number> {
  const unknown = (options.models ?? []).filter((n) => !BENCH_MODELS.some((m) => m.name === n));
  if (unknown.length > 0) {
    console.error(`Unknown bench model ${unknown.join(", ")}; known: ${BENCH_MODELS.map((m) => m.name).join(", ")}`);
    return 2;
  }
  const models = options.models ? BENCH_MODELS.filter((m) => options.models!.includes(m.name)) : BENCH_MODELS;
  let report;
  try {
    report = await runPeerBench({
      models,
      outDir: `${REPO_ROOT}out/peers`,
      ...(options.evalLimit ? { evalLimit: options.evalLimit } : {}),
      log: (line) => console.error(line),
    });
  } catch (e) {
    if (e instanceof PeersNotInstalledError) {
      console.error(`bench --peers: ${e.message}`);
      return 1;
    }
    throw e;
  }
  console.log(formatPeerReport(report));
  await writeFileAtomic(`${REPO_ROOT}${PEER_REPORT_PATH}`, JSON.stringify(report, null, 2) + "\n");
  console.log(`\nwrote ${PEER_REPORT_PATH}`);
  if (report.failures.length > 0) {
    console.error(`bench --peers: ${report.failures.length} tool run(s) failed:`);
    for (const f of report.failures) console.error(`  ${f.split("\n")[0]}`);
    return 1;
  }
  return 0;
}

if (import.meta.main) {
  const models = Deno.args.find((a) => a.startsWith("--models="))?.slice("--models=".length).split(",");
  Deno.exit(await peersMain(models ? { models } : {}));
}
