/**
 * The one thing the core needs from a runtime: run a model on named float
 * inputs and hand back named outputs. The host implementation wraps ONNX
 * Runtime (targets/ort.ts); tests may use any other.
 *
 * @module
 */

/** A dense float32 tensor passed to or returned by an executor. */
export interface HostTensor {
  /** Elements in row-major order. */
  data: Float32Array;
  /** Dimensions. */
  dims: number[];
}

/** A loaded model that can be run repeatedly. */
export interface Executor {
  /** Names of the model's real inputs, in graph order. */
  readonly inputNames: readonly string[];
  /**
   * Runs the model; returns the requested outputs (float32 only). They belong to the caller, which
   * may detach their buffers (calibration frees each one as soon as it has been observed), so an
   * executor must not hand out a buffer it keeps or returns again.
   */
  run(feeds: Record<string, HostTensor>, outputs: readonly string[]): Promise<Map<string, HostTensor>>;
  /** Frees the session. */
  release(): Promise<void>;
}

/** Loads encoded ONNX bytes into an executor. */
export type ExecutorFactory = (modelBytes: Uint8Array, options?: { threads?: number }) => Promise<Executor>;
