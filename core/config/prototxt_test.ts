import assert from "node:assert/strict";
import { parsePrototxt, PrototxtSyntaxError, type TextMessage, type TextScalar } from "./prototxt.ts";

Deno.test("prototxt: fields, nested blocks in every form, lists, comments, joined strings", () => {
  const m = parsePrototxt(
    '# hash comment\nname: "a" "b"; // slash comment\nblock { x: 1 y: -2.5e3 }\nother: < z: ENUM >\nlist: [1, 2]\n',
  );
  assert.deepEqual(m.fields.map((f) => [f.name, f.line]), [["name", 2], ["block", 3], ["other", 4], ["list", 5], [
    "list",
    5,
  ]]);
  assert.equal((m.fields[0]!.value as TextScalar).text, "ab");
  const block = m.fields[1]!.value as TextMessage;
  assert.deepEqual(block.fields.map((f) => (f.value as TextScalar).text), ["1", "-2.5e3"]);
  assert.equal(((m.fields[2]!.value as TextMessage).fields[0]!.value as TextScalar).kind, "ident");
});

Deno.test("prototxt: syntax errors carry the line", () => {
  const cases: [string, number, RegExp][] = [
    ["a: 1\nb {\n c: 2\n", 4, /expected "}" to close the message opened on line 2/],
    ['a: 1\nb: "open\n', 2, /unterminated string/],
    ["a: 1\n\nb 3\n", 3, /expected ":" or "{" after b/],
    ["a: 1\n: 2\n", 2, /expected a field name/],
    ["a: 1x2\n", 1, /not a number/],
    ["a: {\n}\n}\n", 3, /expected a field name, got "}"/],
  ];
  for (const [text, line, pattern] of cases) {
    assert.throws(() => parsePrototxt(text), (e: unknown) => {
      assert.ok(e instanceof PrototxtSyntaxError);
      assert.equal(e.line, line, text);
      assert.match(e.message, pattern);
      return true;
    });
  }
});
