"""ONNX Runtime's static quantizer as a peer in the side-by-side bench (deno task bench --peers).

Run with the peers' interpreter, .venv-peers/bin/python (made by scripts/peers/setup):

  ort_peer.py quantize --model m.onnx --calib calib.npy --input x --method Entropy|MinMax --out m.int8.onnx
                       --result result.json
  ort_peer.py evaluate --model m.onnx --data eval.npy --input x --output y --batch 250 --out outputs.npy

quantize follows ONNX Runtime's documented recipe: quant_pre_process (the recommended pre-processing: graph
optimisation and shape inference), then quantize_static with QDQ format, per-channel int8 weights and int8
activations (ONNX Runtime's defaults for everything else), feeding the calibration tensors one sample at a time.
The tensors are the bench's own (.npy, already preprocessed), so every tool sees the same numbers. Timings go to
--result; peak RSS and the process's wall time are measured from outside (/usr/bin/time).

evaluate runs a model in ONNX Runtime's Python package (CPU) and saves the named output for every sample.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def quantize(args: argparse.Namespace) -> None:
    import onnxruntime
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    calib = np.load(args.calib, mmap_mode="r")

    class NpyReader(CalibrationDataReader):
        """One sample per call, like the other tools' calibration (batch 1)."""

        def __init__(self) -> None:
            self.index = 0

        def get_next(self):
            if self.index >= len(calib):
                return None
            sample = np.ascontiguousarray(calib[self.index:self.index + 1], dtype=np.float32)
            self.index += 1
            return {args.input: sample}

        def __len__(self) -> int:
            return len(calib)

        def rewind(self) -> None:
            self.index = 0

    with tempfile.TemporaryDirectory(prefix="ort-peer-") as tmp:
        pre = Path(tmp) / "pre.onnx"
        t0 = time.perf_counter()
        # Symbolic shape inference is for transformer graphs (and needs sympy); CNN shapes are inferred by ONNX.
        quant_pre_process(args.model, str(pre), skip_symbolic_shape=True)
        t1 = time.perf_counter()
        quantize_static(
            str(pre),
            args.out,
            NpyReader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod[args.method],
        )
        t2 = time.perf_counter()
    result = {
        "tool": "onnxruntime",
        "version": onnxruntime.__version__,
        "method": args.method,
        "calibrationSamples": int(len(calib)),
        "preprocessSeconds": t1 - t0,
        "quantizeSeconds": t2 - t1,
        "totalSeconds": t2 - t0,
        "settings": "quant_pre_process; quantize_static QDQ, per_channel, QInt8 weights and activations",
    }
    Path(args.result).write_text(json.dumps(result, indent=2) + "\n")


def evaluate(args: argparse.Namespace) -> None:
    import onnxruntime

    data = np.load(args.data, mmap_mode="r")
    options = onnxruntime.SessionOptions()
    session = onnxruntime.InferenceSession(args.model, sess_options=options, providers=["CPUExecutionProvider"])
    outputs = []
    for start in range(0, len(data), args.batch):
        batch = np.ascontiguousarray(data[start:start + args.batch], dtype=np.float32)
        outputs.append(session.run([args.output], {args.input: batch})[0].astype(np.float32))
    np.save(args.out, np.concatenate(outputs))


def main() -> int:
    parser = argparse.ArgumentParser(description="ONNX Runtime peer for deno task bench --peers")
    sub = parser.add_subparsers(dest="command", required=True)
    q = sub.add_parser("quantize")
    q.add_argument("--model", required=True)
    q.add_argument("--calib", required=True)
    q.add_argument("--input", required=True)
    q.add_argument("--method", required=True, choices=["Entropy", "MinMax", "Percentile", "Distribution"])
    q.add_argument("--out", required=True)
    q.add_argument("--result", required=True)
    e = sub.add_parser("evaluate")
    e.add_argument("--model", required=True)
    e.add_argument("--data", required=True)
    e.add_argument("--input", required=True)
    e.add_argument("--output", required=True)
    e.add_argument("--batch", type=int, required=True)
    e.add_argument("--out", required=True)
    args = parser.parse_args()
    {"quantize": quantize, "evaluate": evaluate}[args.command](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
