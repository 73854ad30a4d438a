/**
 * Histogram calibration in Web Workers: while the main thread runs the float model on the next
 * batch, a worker bins the previous batch's tensors. On the PaddleOCR classifier (2 idle cores)
 * binning costs almost as much as the runtime itself, and overlapping the two takes KL calibration
 * from 1.85× to 1.35× the float model's time with the observed tensors exposed (1 000 images).
 *
 * How it stays exact: each tensor's calibrator lives in exactly one worker, is built from the same
 * method and options as on the main thread, and sees the same calls in the same order, so it
 * returns the same range bit for bit.
 *
 * How values travel: two batch buffers per worker go back and forth. At the end of a batch the
 * main thread copies the batch's values into a free batch buffer and frees the runtime's output
 * buffers at once (instead of leaving hundreds of megabytes of them to the garbage collector), then
 * moves the batch buffer to the worker; the worker bins the values and moves the buffer back with
 * its acknowledgement. One message and one buffer per batch each way, nothing allocated per value,
 * so memory does not depend on the number of images. (Measured alternatives: moving each runtime
 * output to the worker grows the worker's heap with the number of batches; a shared memory makes
 * the main thread's copy twice as slow.)
 *
 * This module does no I/O and starts no worker itself: the caller injects a
 * {@link SpawnCalibrationWorker} that starts a worker on {@link CALIBRATION_WORKER_MODULE}
 * (in Deno that needs read access to the module file, which core does not ask for).
 *
 * @module
 */

import { createCalibrator } from "../calib/mod.ts";
import { NonFiniteValueError } from "../calib/histogram.ts";
import type { CalibrationRange, Calibrator, CalibratorOptions, PassInput } from "../calib/types.ts";

/**
 * Which calibrator a tensor gets: a registry method name and its options. Plain data, so that a
 * worker can build the same calibrator.
 *
 * @example
 * ```ts
 * import type { CalibratorSpec } from "./calibration_workers.ts";
 * const spec: CalibratorSpec = { method: "KL", options: { clamp: 127, shape: [1, 16, 24, 96] } };
 * ```
 */
export interface CalibratorSpec {
  /** Method name as in `core/calib/mod.ts` (`KL`, `PERCENTILE`, …). */
  readonly method: string;
  /** Options for the calibrator. */
  readonly options: CalibratorOptions;
}

/**
 * The part of a Web Worker that calibration uses; Deno's and browsers' `Worker` have it.
 *
 * @example
 * ```ts ignore
 * const worker: CalibrationWorker = new Worker(CALIBRATION_WORKER_MODULE, { type: "module" });
 * ```
 */
export interface CalibrationWorker {
  /** Sends a message, moving the listed buffers. */
  postMessage(message: unknown, transfer: Transferable[]): void;
  /** Receives the worker's messages. */
  onmessage: ((event: MessageEvent) => void) | null;
  /** Receives an uncaught error of the worker (including a module that failed to load). */
  onerror: ((event: ErrorEvent) => void) | null;
  /** Stops the worker. */
  terminate(): void;
}

/**
 * Starts one worker running {@link CALIBRATION_WORKER_MODULE}.
 *
 * @example
 * ```ts ignore
 * import { CALIBRATION_WORKER_MODULE, type SpawnCalibrationWorker } from "./calibration_workers.ts";
 * const spawn: SpawnCalibrationWorker = () => new Worker(CALIBRATION_WORKER_MODULE, { type: "module" });
 * ```
 */
export type SpawnCalibrationWorker = () => CalibrationWorker;

/**
 * The module a calibration worker runs (it calls {@link serveCalibrationWorker} on its global scope).
 *
 * @example
 * ```ts
 * import { CALIBRATION_WORKER_MODULE } from "./calibration_workers.ts";
 * const isModule = CALIBRATION_WORKER_MODULE.pathname.endsWith(".ts");
 * ```
 */
export const CALIBRATION_WORKER_MODULE: URL = new URL("./_calibration_worker_main.ts", import.meta.url);

/** Batch buffers per worker: one being binned, one being filled or queued. */
const BATCH_BUFFERS = 2;
/**
 * Columns of a batch's table of observations (a `Float64Array`, one row per observation): kind
 * (`VALUES` or `RANGES`), tensor id, pass, byte offset in the batch buffer, number of floats
 * (for ranges: of the minima; the maxima follow them), values per sample.
 */
const COLUMNS = 6;
const VALUES = 0, RANGES = 1;

type ToWorker =
  | {
    type: "batch";
    seq: number;
    samplesBefore: number;
    creates: { id: number; spec: CalibratorSpec }[];
    /** One row of {@link COLUMNS} numbers per observation. */
    table: Float64Array;
    /** The batch's values (and per-sample ranges); returned with the acknowledgement. */
    buffer: ArrayBuffer;
  }
  | { type: "finish" };

/** What went wrong with one tensor in a worker. */
interface Failure {
  id: number;
  seq: number;
  message: string;
  /** Set for NaN or ±Infinity: the value, its index in the batch and how to turn that into a sample. */
  nonFinite?: { value: number; index: number; perSample: number; samplesBefore: number };
}

type FromWorker =
  | { type: "ack"; seq: number; failures: Failure[]; buffer: ArrayBuffer }
  | { type: "ranges"; results: { id: number; range?: CalibrationRange; error?: string }[] };

/**
 * A failure reported by a worker, in the terms the driver reports it.
 *
 * @example
 * ```ts
 * import type { WorkerFailure } from "./calibration_workers.ts";
 * const failure: WorkerFailure = { tensor: "conv1", message: "Cannot calibrate value at index 3: it is NaN" };
 * ```
 */
export interface WorkerFailure {
  /** The tensor whose calibrator failed. */
  tensor: string;
  /** The calibrator's error message. */
  message: string;
  /** For NaN or ±Infinity: the error and how to locate its sample (as for the main-thread path). */
  nonFinite?: { error: NonFiniteValueError; perSample: number; samplesBefore: number };
}

/** An observation queued on the main thread until the batch ends; it owns its arrays. */
interface Queued {
  kind: number;
  id: number;
  pass: number;
  perSample: number;
  arrays: Float32Array[];
}

/** One worker and what the main thread knows about it. */
interface WorkerSlot {
  worker: CalibrationWorker;
  /** Values per batch of the tensors it holds (for balancing). */
  load: number;
  creates: { id: number; spec: CalibratorSpec }[];
  queued: Queued[];
  /** Batch buffers back from the worker, and how many exist (at most {@link BATCH_BUFFERS}). */
  buffers: ArrayBuffer[];
  bufferCount: number;
  /** Batches sent and not yet acknowledged. */
  inFlight: number;
  finished: boolean;
}

const align16 = (bytes: number) => Math.ceil(bytes / 16) * 16;

/**
 * The main thread's side: calibrators that live in workers, and the batches sent to them.
 *
 * At the end of a batch the main thread copies the batch's values into a free batch buffer of
 * each worker, frees the runtime's buffers at once, and moves the batch buffer to the worker.
 *
 * Use: {@link add} a tensor (returns a stand-in {@link Calibrator} for the driver), call
 * {@link beginBatch} before feeding a batch and {@link endBatch} after it, {@link finish} after the
 * last pass (then the stand-ins' `range()` answer), and {@link close} in a `finally`.
 *
 * @example
 * ```ts ignore
 * const workers = new CalibrationWorkers(spawn, 1, (f) => new Error(`${f.tensor}: ${f.message}`));
 * const spec = { method: "KL", options: { clamp: 127 } };
 * const c = workers.add("conv1", 0, spec, createCalibrator(spec.method, spec.options), 18432);
 * try {
 *   workers.beginBatch(0, 1);
 *   c.observe(0, values);
 *   await workers.endBatch();
 *   await workers.finish();
 *   console.log(c.range());
 * } finally {
 *   workers.close();
 * }
 * ```
 */
export class CalibrationWorkers {
  /** Workers to start (at most). */
  readonly count: number;
  readonly #spawn: SpawnCalibrationWorker;
  readonly #toError: (failure: WorkerFailure) => Error;
  readonly #slots: WorkerSlot[] = [];
  readonly #tensors: { name: string; position: number; slot: WorkerSlot }[] = [];
  readonly #results = new Map<number, { range?: CalibrationRange; error?: string }>();
  #failures: Failure[] = [];
  #fatal: Error | undefined;
  #wake: (() => void) | undefined;
  #seq = 0;
  #samplesBefore = 0;
  #batchSize = 1;
  #closed = false;

  /**
   * `count` workers at most (started when the first tensor is added); `toError` turns a worker's
   * failure into the error the driver throws.
   */
  constructor(spawn: SpawnCalibrationWorker, count: number, toError: (failure: WorkerFailure) => Error) {
    if (!Number.isInteger(count) || count < 1) {
      throw new RangeError(`Cannot start calibration workers: count must be a positive integer, got ${count}`);
    }
    this.count = count;
    this.#spawn = spawn;
    this.#toError = toError;
  }

  /** Workers started so far. */
  get started(): number {
    return this.#slots.length;
  }

  /**
   * A stand-in calibrator for `tensor` whose real calibrator (built from `spec`) lives in the
   * least loaded worker. `local` is a calibrator built from `spec` on this thread, only asked what
   * each pass needs (it is never fed). `position` orders tensors for error reports (graph order);
   * `valuesPerBatch` balances the workers.
   */
  add(tensor: string, position: number, spec: CalibratorSpec, local: Calibrator, valuesPerBatch: number): Calibrator {
    const slot = this.#leastLoaded();
    slot.load += valuesPerBatch;
    const id = this.#tensors.length;
    this.#tensors.push({ name: tensor, position, slot });
    slot.creates.push({ id, spec });
    return new RemoteCalibrator(this, id, local);
  }

  /** Starts a batch: `samplesBefore` samples came before it, it holds `batchSize`. */
  beginBatch(samplesBefore: number, batchSize: number): void {
    this.#samplesBefore = samplesBefore;
    this.#batchSize = batchSize;
  }

  /**
   * Sends the batch to the workers: waits for a free batch buffer of each worker, copies the
   * batch's values there and frees their buffers. Throws the first failure reported so far
   * (earliest batch, then graph order).
   */
  async endBatch(): Promise<void> {
    const seq = this.#seq++;
    for (const slot of this.#slots) {
      if (slot.queued.length > 0 || slot.creates.length > 0) await this.#send(slot, seq);
    }
    this.#throwFailure();
  }

  /** Sends what is pending and waits until every worker has binned everything; throws the first failure. */
  async settle(): Promise<void> {
    await this.endBatch();
    await this.#until(() => this.#slots.every((s) => s.inFlight === 0));
    this.#throwFailure();
  }

  /** Settles, then has every worker compute its calibrators' ranges (the stand-ins' `range()`). */
  async finish(): Promise<void> {
    await this.settle();
    for (const slot of this.#slots) this.#post(slot, { type: "finish" }, []);
    await this.#until(() => this.#slots.every((s) => s.finished));
  }

  /** Stops every worker (safe to call more than once). */
  close(): void {
    this.#closed = true;
    for (const slot of this.#slots) {
      slot.worker.terminate();
      for (const q of slot.queued) q.arrays.forEach(releaseBuffer);
      slot.queued = [];
    }
    this.#wake?.();
  }

  /**
   * @internal Queues an observation of tensor `id` (called by the stand-ins). The arrays are taken
   * over: a whole buffer (a runtime's output) is moved without a copy, detaching the caller's
   * array; a view into a larger buffer is copied.
   */
  enqueue(kind: "values" | "ranges", id: number, pass: number, arrays: Float32Array[]): void {
    const owned = arrays.map((values) => {
      const buffer = values.buffer;
      const whole = buffer instanceof ArrayBuffer && values.byteOffset === 0 && values.byteLength === buffer.byteLength;
      return whole ? new Float32Array(buffer.transfer()) : values.slice();
    });
    const perSample = owned[0]!.length / this.#batchSize;
    this.#tensors[id]!.slot.queued.push({
      kind: kind === "values" ? VALUES : RANGES,
      id,
      pass,
      perSample,
      arrays: owned,
    });
  }

  /** @internal The range computed in the worker for tensor `id`; throws its error. */
  result(id: number): CalibrationRange {
    const result = this.#results.get(id);
    if (!result) throw new Error(`Cannot read the range of "${this.#tensors[id]!.name}": calibration has not finished`);
    if (result.error !== undefined) throw new Error(result.error);
    return result.range!;
  }

  #leastLoaded(): WorkerSlot {
    if (this.#slots.length < this.count) return this.#start();
    return this.#slots.reduce((a, b) => (b.load < a.load ? b : a));
  }

  #start(): WorkerSlot {
    const worker = this.#spawn();
    const slot: WorkerSlot = {
      worker,
      load: 0,
      creates: [],
      queued: [],
      buffers: [],
      bufferCount: 0,
      inFlight: 0,
      finished: false,
    };
    worker.onmessage = (event) => this.#receive(slot, event.data as FromWorker);
    worker.onerror = (event) => {
      event.preventDefault(); // reported through the driver, not as an uncaught error
      this.#fatal ??= new Error(`Calibration worker failed: ${event.message}`);
      this.#wake?.();
    };
    this.#slots.push(slot);
    return slot;
  }

  /** Copies `slot`'s queued observations into a free batch buffer and moves it to the worker. */
  async #send(slot: WorkerSlot, seq: number): Promise<void> {
    const bytes = slot.queued.reduce((sum, q) => sum + q.arrays.reduce((n, a) => n + align16(a.byteLength), 0), 0);
    await this.#until(() => slot.buffers.length > 0 || slot.bufferCount < BATCH_BUFFERS);
    let buffer = slot.buffers.pop();
    if (!buffer) slot.bufferCount++;
    if (!buffer || buffer.byteLength < bytes) buffer = new ArrayBuffer(bytes); // the first batches, or a larger one
    const table = new Float64Array(COLUMNS * slot.queued.length);
    let offset = 0;
    slot.queued.forEach((q, row) => {
      table.set([q.kind, q.id, q.pass, offset, q.arrays[0]!.length, q.perSample], COLUMNS * row);
      for (const values of q.arrays) {
        new Float32Array(buffer, offset, values.length).set(values);
        offset += align16(values.byteLength);
        releaseBuffer(values); // a runtime's buffer is freed now, not when the collector gets to it
      }
    });
    const message: ToWorker = {
      type: "batch",
      seq,
      samplesBefore: this.#samplesBefore,
      creates: slot.creates,
      table,
      buffer,
    };
    slot.queued = [];
    slot.creates = [];
    slot.inFlight++;
    this.#post(slot, message, [buffer, table.buffer]);
  }

  #post(slot: WorkerSlot, message: ToWorker, transfer: ArrayBuffer[]): void {
    if (this.#closed) throw new Error("Cannot send to calibration workers: they were closed");
    slot.worker.postMessage(message, transfer);
  }

  #receive(slot: WorkerSlot, message: FromWorker): void {
    if (message.type === "ack") {
      slot.inFlight--;
      slot.buffers.push(message.buffer);
      this.#failures.push(...message.failures);
    } else {
      for (const r of message.results) this.#results.set(r.id, r);
      slot.finished = true;
    }
    this.#wake?.();
  }

  async #until(done: () => boolean): Promise<void> {
    while (!done()) {
      if (this.#fatal) throw this.#fatal;
      if (this.#closed) throw new Error("Cannot wait for calibration workers: they were closed");
      await new Promise<void>((resolve) => this.#wake = resolve);
      this.#wake = undefined;
    }
  }

  #throwFailure(): void {
    if (this.#fatal) throw this.#fatal;
    if (this.#failures.length === 0) return;
    const position = (f: Failure) => this.#tensors[f.id]!.position;
    const first = this.#failures.reduce((a, b) =>
      b.seq < a.seq || (b.seq === a.seq && position(b) < position(a)) ? b : a
    );
    const failure: WorkerFailure = { tensor: this.#tensors[first.id]!.name, message: first.message };
    if (first.nonFinite) {
      const { value, index, perSample, samplesBefore } = first.nonFinite;
      failure.nonFinite = { error: new NonFiniteValueError(value, index), perSample, samplesBefore };
    }
    throw this.#toError(failure);
  }
}

/** The main thread's stand-in for a calibrator in a worker. */
class RemoteCalibrator implements Calibrator {
  readonly method: string;
  readonly passes: number;
  readonly #workers: CalibrationWorkers;
  readonly #id: number;
  /** A local calibrator of the same method and options, only asked what each pass needs. */
  readonly #shadow: Calibrator;

  constructor(workers: CalibrationWorkers, id: number, shadow: Calibrator) {
    this.#workers = workers;
    this.#id = id;
    this.#shadow = shadow;
    this.method = shadow.method;
    this.passes = shadow.passes;
  }

  passInput(pass: number): PassInput {
    return this.#shadow.passInput?.(pass) ?? "values";
  }

  /** Queues `values` for the worker: a whole buffer is taken over (`values` is detached), a view copied. */
  observe(pass: number, values: Float32Array): void {
    this.#workers.enqueue("values", this.#id, pass, [values]);
  }

  observeRanges(pass: number, mins: Float32Array, maxs: Float32Array): void {
    if (!this.#shadow.observeRanges) {
      throw new Error(`Calibrator ${this.method} asked for ranges but has no observeRanges()`);
    }
    this.#workers.enqueue("ranges", this.#id, pass, [mins, maxs]);
  }

  range(): CalibrationRange {
    return this.#workers.result(this.#id);
  }
}

/**
 * Frees the memory behind `values` now, when `values` spans a whole (not shared) `ArrayBuffer`:
 * the buffer is detached, so `values` becomes empty. A runtime's output buffers are otherwise
 * freed only when the garbage collector gets to them, and hundreds of megabytes of them can
 * pile up before it does. Views into a larger buffer are left alone.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { releaseBuffer } from "./calibration_workers.ts";
 * const values = new Float32Array(1024);
 * releaseBuffer(values);
 * assert.equal(values.length, 0);
 * const whole = new Float32Array(8);
 * releaseBuffer(whole.subarray(2)); // a view: kept
 * assert.equal(whole.length, 8);
 * ```
 */
export function releaseBuffer(values: Float32Array): void {
  const buffer = values.buffer;
  if (
    buffer instanceof ArrayBuffer && !buffer.detached && values.byteOffset === 0 &&
    values.byteLength === buffer.byteLength
  ) {
    buffer.transfer(0);
  }
}

/**
 * The global scope of a calibration worker, as {@link serveCalibrationWorker} uses it.
 *
 * @example
 * ```ts ignore
 * serveCalibrationWorker(self as unknown as CalibrationWorkerScope);
 * ```
 */
export interface CalibrationWorkerScope {
  /** Sends a message to the main thread, moving the listed buffers. */
  postMessage(message: unknown, transfer?: Transferable[]): void;
  /** Receives the main thread's messages. */
  onmessage: ((event: MessageEvent) => void) | null;
}

/**
 * The worker's side: builds calibrators, feeds them each batch in order, acknowledges every
 * batch (with any failures, returning its buffer), and returns every range on `finish`. A
 * calibrator that failed is not fed again.
 *
 * @example
 * ```ts ignore
 * // _calibration_worker_main.ts
 * serveCalibrationWorker(self as unknown as CalibrationWorkerScope);
 * ```
 */
export function serveCalibrationWorker(scope: CalibrationWorkerScope): void {
  const calibrators = new Map<number, Calibrator>();
  const failed = new Set<number>();
  scope.onmessage = (event) => {
    const message = event.data as ToWorker;
    if (message.type === "finish") {
      const results: { id: number; range?: CalibrationRange; error?: string }[] = [];
      for (const [id, calibrator] of calibrators) {
        if (failed.has(id)) continue;
        try {
          results.push({ id, range: calibrator.range() });
        } catch (e) {
          results.push({ id, error: e instanceof Error ? e.message : String(e) });
        }
      }
      scope.postMessage({ type: "ranges", results } satisfies FromWorker);
      return;
    }
    for (const { id, spec } of message.creates) calibrators.set(id, createCalibrator(spec.method, spec.options));
    const failures: Failure[] = [];
    const { table, buffer } = message;
    const view = (offset: number, length: number) => new Float32Array(buffer, offset, length);
    for (let row = 0; row < table.length; row += COLUMNS) {
      const at = (column: number) => table[row + column]!;
      const [kind, id, pass, offset, length, perSample] = [at(0), at(1), at(2), at(3), at(4), at(5)];
      if (failed.has(id)) continue;
      try {
        const calibrator = calibrators.get(id)!;
        if (kind === VALUES) calibrator.observe(pass, view(offset, length));
        else calibrator.observeRanges!(pass, view(offset, length), view(offset + align16(4 * length), length));
      } catch (e) {
        failed.add(id);
        const failure: Failure = { id, seq: message.seq, message: e instanceof Error ? e.message : String(e) };
        if (e instanceof NonFiniteValueError && kind === VALUES) {
          failure.nonFinite = { value: e.value, index: e.index, perSample, samplesBefore: message.samplesBefore };
        }
        failures.push(failure);
      }
    }
    scope.postMessage({ type: "ack", seq: message.seq, failures, buffer } satisfies FromWorker, [buffer]);
  };
}
