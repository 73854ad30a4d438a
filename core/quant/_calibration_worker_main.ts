/**
 * Entry module of a calibration worker (see `calibration_workers.ts`); a spawner starts it with
 * `new Worker(CALIBRATION_WORKER_MODULE, { type: "module" })`.
 *
 * @module
 */

import { type CalibrationWorkerScope, serveCalibrationWorker } from "./calibration_workers.ts";

serveCalibrationWorker(globalThis as unknown as CalibrationWorkerScope);
