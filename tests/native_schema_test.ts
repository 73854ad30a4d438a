// The code generated from targets/native/qm.fbs is checked in; these tests fail when it is stale
// (regenerate with scripts/native/regen.sh).
import assert from "node:assert/strict";
import { generateCSchema } from "../scripts/native/gen_c_schema.ts";

const root = new URL("../", import.meta.url).pathname;
const schema = await Deno.readTextFile(`${root}targets/native/qm.fbs`);

Deno.test("runtime/src/qm_schema.h is generated from the current qm.fbs", async () => {
  assert.equal(await Deno.readTextFile(`${root}runtime/src/qm_schema.h`), generateCSchema(schema));
});

Deno.test("the C field ids follow declaration order, unions taking two slots", () => {
  const h = generateCSchema(schema);
  assert.match(h, /#define QM_MODEL_VERSION 0\n/);
  assert.match(h, /#define QM_OP_OPTIONS_TYPE 3\n#define QM_OP_OPTIONS 4\n/);
  assert.match(h, /#define QM_CONV_OPTIONS_GROUP_DEFAULT 1\n/);
});

const flatc = await new Deno.Command("flatc", { args: ["--version"] }).output().then((r) => r.success, () => false);

Deno.test({
  name: "targets/native/qm_generated.ts is flatc's output for the current qm.fbs (when flatc is installed)",
  ignore: !flatc,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const r = await new Deno.Command("flatc", {
        args: ["--ts", "--ts-flat-files", "-o", dir, `${root}targets/native/qm.fbs`],
      }).output();
      assert.ok(r.success, new TextDecoder().decode(r.stderr));
      const fresh = await Deno.readTextFile(`${dir}/qm_generated.ts`);
      const checkedIn = await Deno.readTextFile(`${root}targets/native/qm_generated.ts`);
      // The checked-in file adds three header lines (lint/fmt opt-outs and the flatc version).
      assert.equal(checkedIn.split("\n").slice(3).join("\n"), fresh);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
