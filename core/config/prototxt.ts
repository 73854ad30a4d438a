/**
 * A protobuf text-format reader, enough for config files: `name: value`,
 * `name { … }` / `name: { … }` / `name < … >`, repeated fields, lists
 * `[a, b]`, quoted strings (adjacent ones joined), numbers, bare identifiers,
 * optional `;`/`,` separators, and `#` or `//` comments (the seed's example
 * uses `//`). It keeps the line of every field; it knows no schema.
 *
 * @module
 */

/**
 * A scalar value: its kind and its text (strings unescaped).
 *
 * @example
 * ```ts
 * import type { TextScalar } from "./prototxt.ts";
 * const v: TextScalar = { kind: "ident", text: "USE_GPU", line: 2 };
 * ```
 */
export interface TextScalar {
  readonly kind: "string" | "number" | "ident";
  readonly text: string;
  readonly line: number;
}

/**
 * One field of a message: a scalar or a nested message.
 *
 * @example
 * ```ts
 * import type { TextField } from "./prototxt.ts";
 * const f: TextField = { name: "device", line: 2, value: { kind: "ident", text: "USE_CPU", line: 2 } };
 * ```
 */
export interface TextField {
  readonly name: string;
  readonly line: number;
  readonly value: TextScalar | TextMessage;
}

/**
 * A message: its fields in file order (a repeated field appears once per value).
 *
 * @example
 * ```ts
 * import type { TextMessage } from "./prototxt.ts";
 * const empty: TextMessage = { kind: "message", fields: [], line: 1 };
 * ```
 */
export interface TextMessage {
  readonly kind: "message";
  readonly fields: readonly TextField[];
  readonly line: number;
}

/**
 * A syntax error, with its 1-based line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PrototxtSyntaxError } from "./prototxt.ts";
 * assert.equal(new PrototxtSyntaxError(3, "expected }").line, 3);
 * ```
 */
export class PrototxtSyntaxError extends Error {
  override name = "PrototxtSyntaxError";
  /** 1-based line of the problem. */
  readonly line: number;
  /** Creates the error. */
  constructor(line: number, message: string) {
    super(message);
    this.line = line;
  }
}

interface Token {
  kind: "ident" | "number" | "string" | "punct" | "eof";
  text: string;
  line: number;
}

const ESCAPES: Record<string, string> = { n: "\n", t: "\t", r: "\r", "\\": "\\", '"': '"', "'": "'", "0": "\0" };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === "\n") {
      line++;
      i++;
    } else if (ch === " " || ch === "\t" || ch === "\r" || ch === "\uFEFF") {
      i++;
    } else if (ch === "#" || (ch === "/" && text[i + 1] === "/")) {
      while (i < text.length && text[i] !== "\n") i++;
    } else if (ch === '"' || ch === "'") {
      const start = line;
      let s = "";
      i++;
      while (true) {
        if (i >= text.length || text[i] === "\n") throw new PrototxtSyntaxError(start, "unterminated string");
        const c = text[i]!;
        if (c === ch) break;
        if (c === "\\") {
          const e = text[i + 1];
          if (e === undefined || !(e in ESCAPES)) throw new PrototxtSyntaxError(line, `unknown escape \\${e ?? ""}`);
          s += ESCAPES[e];
          i += 2;
        } else {
          s += c;
          i++;
        }
      }
      i++;
      tokens.push({ kind: "string", text: s, line: start });
    } else if (/[A-Za-z_]/.test(ch)) {
      let j = i;
      while (j < text.length && /[A-Za-z0-9_.]/.test(text[j]!)) j++;
      tokens.push({ kind: "ident", text: text.slice(i, j), line });
      i = j;
    } else if (/[-+0-9.]/.test(ch)) {
      let j = i + 1;
      while (j < text.length && /[0-9A-Za-z_.+-]/.test(text[j]!)) j++;
      const raw = text.slice(i, j);
      const num = raw.replace(/[fF]$/, "");
      if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(num) && !/^[-+]?(inf|nan)$/i.test(num)) {
        throw new PrototxtSyntaxError(line, `"${raw}" is not a number`);
      }
      tokens.push({ kind: "number", text: num, line });
      i = j;
    } else if ("{}<>:[],;".includes(ch)) {
      tokens.push({ kind: "punct", text: ch, line });
      i++;
    } else {
      throw new PrototxtSyntaxError(line, `unexpected character "${ch}"`);
    }
  }
  tokens.push({ kind: "eof", text: "end of file", line });
  return tokens;
}

/**
 * Parses protobuf text format into a message tree; throws {@link PrototxtSyntaxError} with the line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePrototxt } from "./prototxt.ts";
 * const m = parsePrototxt('strategy: "Quant_INT8-8"\npreprocess_parameter:\n{\n  mean_value: 104.0\n}\n');
 * assert.equal(m.fields[0]?.name, "strategy");
 * assert.equal(m.fields[1]?.value.kind, "message");
 * assert.throws(() => parsePrototxt("a {\n b: 1\n"), /expected "}"/);
 * ```
 */
export function parsePrototxt(text: string): TextMessage {
  const tokens = tokenize(text);
  let pos = 0;
  const peek = () => tokens[pos]!;
  const next = () => tokens[pos++]!;
  const isPunct = (t: Token, p: string) => t.kind === "punct" && t.text === p;
  const describe = (t: Token) => t.kind === "eof" ? "end of file" : `"${t.text}"`;

  const scalar = (): TextScalar => {
    const t = next();
    if (t.kind === "string") {
      let s = t.text;
      while (peek().kind === "string") s += next().text;
      return { kind: "string", text: s, line: t.line };
    }
    if (t.kind === "number" || t.kind === "ident") return { kind: t.kind, text: t.text, line: t.line };
    throw new PrototxtSyntaxError(t.line, `expected a value, got ${describe(t)}`);
  };

  const message = (close: string | undefined, line: number): TextMessage => {
    const fields: TextField[] = [];
    while (true) {
      const t = peek();
      if (close !== undefined && isPunct(t, close)) {
        next();
        return { kind: "message", fields, line };
      }
      if (t.kind === "eof") {
        if (close === undefined) return { kind: "message", fields, line };
        throw new PrototxtSyntaxError(t.line, `expected "${close}" to close the message opened on line ${line}`);
      }
      if (t.kind !== "ident") throw new PrototxtSyntaxError(t.line, `expected a field name, got ${describe(t)}`);
      next();
      const colon = isPunct(peek(), ":");
      if (colon) next();
      const v = peek();
      if (isPunct(v, "{") || isPunct(v, "<")) {
        next();
        fields.push({ name: t.text, line: t.line, value: message(v.text === "{" ? "}" : ">", v.line) });
      } else if (!colon) {
        throw new PrototxtSyntaxError(v.line, `expected ":" or "{" after ${t.text}, got ${describe(v)}`);
      } else if (isPunct(v, "[")) {
        next();
        if (isPunct(peek(), "]")) next();
        else {
          while (true) {
            fields.push({ name: t.text, line: peek().line, value: scalar() });
            const sep = next();
            if (isPunct(sep, "]")) break;
            if (!isPunct(sep, ",")) {
              throw new PrototxtSyntaxError(sep.line, `expected "," or "]", got ${describe(sep)}`);
            }
          }
        }
      } else {
        fields.push({ name: t.text, line: t.line, value: scalar() });
      }
      if (isPunct(peek(), ";") || isPunct(peek(), ",")) next();
    }
  };
  return message(undefined, 1);
}
