/**
 * Running averages of per-tensor metrics over samples, and the end-to-end
 * comparison of model outputs (cosine, top-1 agreement, accuracy).
 *
 * @module
 */

import type { HostTensor } from "../exec/executor.ts";
import { argmax, cosineSimilarity, overflowRate } from "./similarity.ts";

/** Averaged metrics of one quantized tensor. */
export interface TensorMetrics {
  tensor: string;
  /** Mean per-sample cosine similarity, float vs int8. */
  cosine: number;
  /** Lowest per-sample cosine. */
  minCosine: number;
  /** Mean share of values at the ends of the int8 range. */
  overflowRate: number;
  samples: number;
}

/** Integer range of a quantized tensor, for the overflow rate. */
export interface RangeParams {
  scale: number;
  zeroPoint: number;
  qmin: number;
  qmax: number;
}

/**
 * Accumulates per-sample cosine and overflow rate for many tensors.
 *
 * @example
 * ```ts
 * import { TensorMetricsAccumulator } from "./accumulate.ts";
 * const acc = new TensorMetricsAccumulator();
 * const t = { data: new Float32Array([1, 2]), dims: [1, 2] };
 * acc.add("x", t, t, 1, { scale: 0.1, zeroPoint: 0, qmin: -127, qmax: 127 });
 * acc.results()[0]?.cosine; // 1
 * ```
 */
export class TensorMetricsAccumulator {
  private sums = new Map<string, { cos: number; minCos: number; overflow: number; n: number }>();

  /** Adds one batch of a tensor (float and int8 run), split into `batchSize` samples. */
  add(tensor: string, float: HostTensor, quant: HostTensor, batchSize: number, params: RangeParams): void {
    const s = this.sums.get(tensor) ?? { cos: 0, minCos: Infinity, overflow: 0, n: 0 };
    const per = float.data.length / batchSize;
    for (let i = 0; i < batchSize; i++) {
      const c = cosineSimilarity(float.data, quant.data, i * per, (i + 1) * per);
      s.cos += c;
      s.minCos = Math.min(s.minCos, c);
      s.overflow += overflowRate(quant.data, params, i * per, (i + 1) * per);
      s.n++;
    }
    this.sums.set(tensor, s);
  }

  /** Averages, in the order tensors were first added. */
  results(): TensorMetrics[] {
    return [...this.sums].map(([tensor, s]) => ({
      tensor,
      cosine: s.cos / s.n,
      minCosine: s.minCos,
      overflowRate: s.overflow / s.n,
      samples: s.n,
    }));
  }
}

/** End-to-end comparison of the model outputs. */
export interface OutputMetrics {
  output: string;
  /** Mean per-sample cosine of float vs int8 output. */
  cosine: number;
  /** Share of samples where float and int8 pick the same class (outputs shaped [N, classes]). */
  top1Agreement: number | undefined;
  /** Float / int8 top-1 accuracy against labels, when labels are given. */
  floatAccuracy: number | undefined;
  int8Accuracy: number | undefined;
  samples: number;
}

/**
 * Accumulates the end-to-end comparison for one model output.
 *
 * @example
 * ```ts
 * import { OutputMetricsAccumulator } from "./accumulate.ts";
 * const acc = new OutputMetricsAccumulator("logits");
 * const f = { data: new Float32Array([0.1, 0.9]), dims: [1, 2] };
 * acc.add(f, f, 1, [1]);
 * acc.result().top1Agreement; // 1
 * ```
 */
export class OutputMetricsAccumulator {
  private cos = 0;
  private agree = 0;
  private floatRight = 0;
  private int8Right = 0;
  private labelled = 0;
  private n = 0;
  private classifier = true;

  /** Creates an accumulator for the named output. */
  constructor(readonly output: string) {}

  /** Adds one batch. */
  add(float: HostTensor, quant: HostTensor, batchSize: number, labels?: readonly number[]): void {
    const per = float.data.length / batchSize;
    const isClassifier = float.dims.length === 2 && per > 1;
    if (!isClassifier) this.classifier = false;
    for (let i = 0; i < batchSize; i++) {
      const start = i * per, end = start + per;
      this.cos += cosineSimilarity(float.data, quant.data, start, end);
      if (isClassifier) {
        const a = argmax(float.data, start, end), b = argmax(quant.data, start, end);
        if (a === b) this.agree++;
        const label = labels?.[i];
        if (label !== undefined) {
          this.labelled++;
          if (a === label) this.floatRight++;
          if (b === label) this.int8Right++;
        }
      }
      this.n++;
    }
  }

  /** The averages so far. */
  result(): OutputMetrics {
    return {
      output: this.output,
      cosine: this.n ? this.cos / this.n : NaN,
      top1Agreement: this.classifier && this.n ? this.agree / this.n : undefined,
      floatAccuracy: this.labelled ? this.floatRight / this.labelled : undefined,
      int8Accuracy: this.labelled ? this.int8Right / this.labelled : undefined,
      samples: this.n,
    };
  }
}
