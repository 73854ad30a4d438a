/**
 * Per-layer debugging of a quantized model: read a QDQ model back
 * (qdq_graph.ts), make every fake-quantization switchable (switchable.ts),
 * cut the models into segments (segments.ts), compute the sensitivity views
 * (sensitivity.ts) and run the whole comparison into a report (run.ts).
 *
 * @module
 */

export {
  type AnalyzeOptions,
  analyzeQdqModel,
  type QdqActivation,
  type QdqAnalysis,
  type QdqWeight,
} from "./qdq_graph.ts";
export { buildSwitchableModel, SWITCH_INPUT, type SwitchableModel } from "./switchable.ts";
export { chooseCuts, constantDerived, type Cut, extractSubModel, liveSets } from "./segments.ts";
export {
  concat,
  planSegments,
  runSensitivity,
  type SampleCache,
  type SegmentPlan,
  type SensitivityInputs,
  type SensitivityResult,
} from "./sensitivity.ts";
export {
  type DebugOptions,
  DebugSession,
  type DebugSubject,
  DEFAULT_DEBUG_OPTIONS,
  runDebug,
  SENSITIVITY_BUDGET,
} from "./run.ts";
