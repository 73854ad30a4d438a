/**
 * `deno task readme-compare`: rewrites README.md's "How it compares" section
 * (between its markers) from the latest out/bench-peers.json, so the README
 * never carries a hand-written number.
 *
 * @module
 */

import { writeFileAtomic } from "../../cli/files.ts";
import { renderComparisonSection, replaceBetweenMarkers } from "./format.ts";
import { REPO_ROOT } from "./harness.ts";
import { PEER_REPORT_PATH } from "./main.ts";

let text: string;
try {
  text = await Deno.readTextFile(`${REPO_ROOT}${PEER_REPORT_PATH}`);
} catch {
  console.error(`readme-compare: no ${PEER_REPORT_PATH}; run ./deno task bench --peers first`);
  Deno.exit(1);
}
const report = JSON.parse(text);

// Lay the section out as `deno fmt` would (table alignment, prose wrap), so `deno task check` stays clean.
const scratch = await Deno.makeTempFile({ suffix: ".md" });
let section: string;
try {
  await Deno.writeTextFile(scratch, renderComparisonSection(report) + "\n");
  const fmt = await new Deno.Command(Deno.execPath(), { args: ["fmt", "--line-width=120", "-q", scratch] }).output();
  if (fmt.code !== 0) {
    throw new Error(`deno fmt failed on the generated section: ${new TextDecoder().decode(fmt.stderr)}`);
  }
  section = (await Deno.readTextFile(scratch)).trimEnd();
} finally {
  await Deno.remove(scratch);
}
const readmePath = `${REPO_ROOT}README.md`;
const readme = await Deno.readTextFile(readmePath);
await writeFileAtomic(readmePath, replaceBetweenMarkers(readme, section));
console.log(`readme-compare: README.md "How it compares" now shows ${PEER_REPORT_PATH} of ${report.date}`);
