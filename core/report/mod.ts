/**
 * The debug report: its data model and JSON schema (schema.ts), the advice
 * and ranking rules (advice.ts), and its two renderings — terminal text
 * (summary.ts) and a self-contained HTML page (html.ts). All pure.
 *
 * @module
 */

export {
  type Advice,
  DEBUG_REPORT_JSON_SCHEMA,
  DEBUG_REPORT_SCHEMA,
  type DebugReport,
  type OutputEntry,
  type SensitivitySummary,
  type TensorEntry,
  validateDebugReport,
  type VariantMetrics,
} from "./schema.ts";
export { ADVICE_LIMITS, type AdviceContext, type AdviceInput, adviseTensor, rankTensors } from "./advice.ts";
export { type ChartAssets, escapeHtml, type HtmlOptions, renderDebugHtml } from "./html.ts";
export { formatDebugSummary } from "./summary.ts";
