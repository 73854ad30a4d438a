/**
 * Fails when an import goes the wrong way: `cli → {targets, devices} → core`.
 * core imports nothing outside core; devices never imports targets or cli;
 * targets never imports cli or devices. Tests (`*_test.ts`, `_*_test_util.ts`)
 * may reach test helpers and the host runtime to verify behaviour.
 *
 * @module
 */

const RULES: Record<string, string[]> = {
  core: ["targets", "devices", "cli", "bench", "tests"],
  targets: ["cli", "devices", "bench", "tests"],
  devices: ["targets", "cli", "bench", "tests"],
};

const root = new URL("../", import.meta.url).pathname;
const problems: string[] = [];

async function walk(dir: string): Promise<void> {
  for await (const entry of Deno.readDir(root + dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) await walk(path);
    else if (entry.name.endsWith(".ts")) await check(path);
  }
}

async function check(path: string): Promise<void> {
  if (/_test\.ts$|_test_util\.ts$/.test(path)) return;
  const layer = path.split("/")[0]!;
  const forbidden = RULES[layer] ?? [];
  const text = await Deno.readTextFile(root + path);
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*["']([^"']+)["']/g)) {
    const spec = m[1]!;
    if (!spec.startsWith(".")) continue;
    const target = new URL(spec, `file://${root}${path}`).pathname.slice(root.length).split("/")[0]!;
    if (forbidden.includes(target)) problems.push(`${path} imports ${spec} (${layer} must not import ${target})`);
  }
}

for (const layer of Object.keys(RULES)) {
  try {
    await walk(layer);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}
if (problems.length > 0) {
  console.error(`Wrong-way imports:\n  ${problems.join("\n  ")}`);
  Deno.exit(1);
}
console.log("imports: ok (cli → {targets, devices} → core)");
