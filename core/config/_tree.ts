/**
 * YAML (and JSON, a subset of YAML) parsed with positions, and zod issues
 * turned into one {@link ConfigError} naming the key and its line.
 *
 * @module
 */

import { isMap, isPair, isScalar, LineCounter, parseDocument } from "yaml";
import type * as z from "zod";
import { ConfigError } from "./errors.ts";
import type { Spot } from "./types.ts";

type PathPart = string | number;

/**
 * A parsed YAML/JSON document: the plain value and the line of any key path in it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTree, type Tree } from "./_tree.ts";
 * const tree: Tree = parseTree("a:\n  b: 1\n", "x.yaml");
 * assert.deepEqual(tree.spot(["a", "b"]), { key: "a.b", line: 2 });
 * ```
 */
export interface Tree {
  readonly file: string;
  readonly value: unknown;
  /** Line of the value at `path` (or of the nearest parent that exists). */
  lineOf(path: readonly PathPart[]): number | undefined;
  /** Line of the key `key` inside the map at `path`. */
  keyLine(path: readonly PathPart[], key: string): number | undefined;
  /** A {@link Spot} for `path`, its key spelled `a.b[0].c`. */
  spot(path: readonly PathPart[]): Spot;
}

/**
 * Formats a key path as `a.b[0].c`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { keyPath } from "./_tree.ts";
 * assert.equal(keyPath(["inputs", 0, "layout"]), "inputs[0].layout");
 * ```
 */
export function keyPath(path: readonly PathPart[]): string {
  return path.map((p, i) => typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`).join("");
}

/**
 * Parses YAML or JSON text; a syntax error is a {@link ConfigError} with its line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTree } from "./_tree.ts";
 * const t = parseTree("a: 1\nb:\n  c: [1, 2]\n", "x.yaml");
 * assert.equal(t.lineOf(["b", "c"]), 3);
 * assert.throws(() => parseTree("a: [1\n", "x.yaml"), /x\.yaml line \d+: /);
 * ```
 */
export function parseTree(text: string, file: string): Tree {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const first = doc.errors[0];
  if (first) {
    const line = lineCounter.linePos(first.pos[0]).line;
    const message = first.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
    throw new ConfigError(file, line, undefined, `syntax error: ${message}`);
  }
  const lineAt = (offset: number | undefined) => offset === undefined ? undefined : lineCounter.linePos(offset).line;
  const nodeAt = (path: readonly PathPart[]): { node: unknown; rest: number } => {
    for (let n = path.length; n >= 0; n--) {
      const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
      if (node !== undefined && node !== null) return { node, rest: path.length - n };
    }
    return { node: undefined, rest: 0 };
  };
  const lineOf = (path: readonly PathPart[]) => {
    const { node } = nodeAt(path);
    return lineAt((node as { range?: [number] } | undefined)?.range?.[0]);
  };
  const keyLine = (path: readonly PathPart[], key: string) => {
    const container = path.length === 0 ? doc.contents : doc.getIn(path, true);
    if (isMap(container)) {
      for (const item of container.items) {
        if (isPair(item) && isScalar(item.key) && String(item.key.value) === key) {
          return lineAt(item.key.range?.[0]);
        }
      }
    }
    return lineOf(path);
  };
  return {
    file,
    value: doc.toJS({ maxAliasCount: 100 }),
    lineOf,
    keyLine,
    spot: (path) => ({ key: keyPath(path), line: lineOf(path) }),
  };
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a map";
  if (typeof value === "string") return JSON.stringify(value);
  return String(value);
}

function valueAt(root: unknown, path: readonly PathPart[]): unknown {
  let v = root;
  for (const p of path) v = (v as Record<PathPart, unknown> | undefined)?.[p];
  return v;
}

/**
 * Validates the tree with a zod schema; the first issue becomes a {@link ConfigError} naming the key and line
 * (an unknown key is named itself, at its own line).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as z from "zod";
 * import { parseTree, validate } from "./_tree.ts";
 * const schema = z.strictObject({ bits: z.int() });
 * assert.throws(() => validate(parseTree("\nbitz: 8\n", "q.yaml"), schema), /q\.yaml line 2: bitz: unknown key/);
 * assert.throws(() => validate(parseTree("bits: eight\n", "q.yaml"), schema), /q\.yaml line 1: bits: expected/);
 * ```
 */
export function validate<S extends z.ZodType>(tree: Tree, schema: S): z.output<S> {
  const result = schema.safeParse(tree.value);
  if (result.success) return result.data;
  // An unknown key first: it is often the misspelling of a missing one.
  const issues = result.error.issues;
  const issue = issues.find((i) => i.code === "unrecognized_keys") ?? issues[0]!;
  const path = issue.path.filter((p): p is PathPart => typeof p === "string" || typeof p === "number");
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0]!;
    const line = tree.keyLine(path, key);
    return fail(tree, line, keyPath([...path, key]), "unknown key");
  }
  const actual = valueAt(tree.value, path);
  const line = tree.lineOf(path);
  const key = keyPath(path);
  if (actual === undefined && issue.code === "invalid_type") {
    return fail(tree, line, key, "is required");
  }
  return fail(tree, line, key, `${issueText(issue)}, got ${describe(actual)}`);
}

const TYPE_NAMES: Record<string, string> = {
  int: "an integer",
  number: "a number",
  string: "a string",
  boolean: "true or false",
  array: "a list",
  object: "a map",
};

function issueText(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "invalid_type":
      return `expected ${TYPE_NAMES[issue.expected] ?? issue.expected}`;
    case "invalid_value":
      return `expected ${issue.values.map((v) => JSON.stringify(v)).join(" or ")}`;
    case "too_small":
      return issue.origin === "array"
        ? `needs at least ${issue.minimum} item${issue.minimum === 1 ? "" : "s"}`
        : `must be ${issue.inclusive ? "≥" : ">"} ${issue.minimum}`;
    case "too_big":
      return issue.origin === "array"
        ? `holds at most ${issue.maximum} items`
        : `must be ${issue.inclusive ? "≤" : "<"} ${issue.maximum}`;
    default:
      return issue.message.replace(/^Invalid input: /, "").replace(
        /^Invalid discriminator value\. Expected/,
        "expected",
      );
  }
}

function fail(tree: Tree, line: number | undefined, key: string, problem: string): never {
  throw new ConfigError(tree.file, line, key, problem);
}
