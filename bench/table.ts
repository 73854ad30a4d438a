/**
 * Plain-text tables for bench output.
 *
 * @module
 */

/**
 * Formats rows under a header, columns padded to their widest cell; numbers right-aligned.
 *
 * @example
 * ```ts
 * import { formatTable } from "./table.ts";
 * formatTable(["method", "top-1"], [["KL", "90.1 %"]]);
 * ```
 */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const numeric = header.map((_, i) => rows.every((r) => /^[-+]?[\d.]+( ?[%×sxMB]*)?$|^–$/.test(r[i] ?? "")));
  const fmt = (cells: string[]) =>
    cells.map((c, i) => numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [fmt(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(fmt)].join("\n");
}
