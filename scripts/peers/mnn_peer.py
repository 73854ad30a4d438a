"""MNN's offline quantizer as a peer in the side-by-side bench (deno task bench --peers).

Run with the peers' interpreter, .venv-peers/bin/python (made by scripts/peers/setup):

  mnn_peer.py quantize --model m.onnx --config imageInputConfig.json --float-mnn m.mnn --out m.int8.mnn
                       --result result.json --log mnn.log
  mnn_peer.py check-preprocess --config imageInputConfig.json --calib calib.npy --result check.json
  mnn_peer.py evaluate --model m.mnn --data eval.npy --input x --output y --batch 250 --out outputs.npy

quantize is MNN's own workflow: mnnconvert (ONNX -> .mnn), then mnnquant (quantized.out) with an
imageInputConfig.json, so MNN reads and preprocesses the calibration images itself. The bench writes that folder
from its own tensors at the model's exact input size (no resize) with MNN's mean/normal equal to the bench's
mean/std. check-preprocess measures what MNN then computes: it runs MNN's ImageProcess on every image exactly as
mnnquant's Helper::preprocessInput does and compares with the bench's tensors. (Even at the same size MNN
resamples bilinearly through a matrix fitted in float, which can move a value by one 8-bit level; the check
reports the largest difference in levels and the share of values that differ.)

Two things about PyPI MNN 3.6.1 decide how it is called here:
- its `mnnconvert` / `mnnquant` console scripts import MNN.tools.utils.log, which runs
  `pip install -U aliyun-log-python-sdk` when that package is missing and uploads usage logs (machine id, model
  sizes) to Aliyun. This runner calls the same C++ entry points (`_tools.mnnconvert`, `_tools.mnnquant`) directly
  and never imports that module;
- the `mnnquant` script passes (src, dst, config) as three strings to `_tools.mnnquant`, which expects one argv list
  (quantized.out's `quant_main`), so the script aborts with std::length_error. The argv list is passed here.
Neither entry point reports failure (both return True), so success is judged by the files they write, and their
console output (captured to --log) goes into the error.

evaluate runs a .mnn model with MNN's Python runtime (CPU, 1 thread, MNN's default precision) and saves the named
output for every sample.
"""

import argparse
import ctypes
import json
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

# Printed by mnnquant when it overrides the configured method (calibration.cpp).
EMA_OVERRIDE = "use EMA quantize method instead"


@contextmanager
def native_output_to(log_path: str):
    """Sends file descriptors 1 and 2 (the C++ logging) to log_path while the block runs."""
    libc = ctypes.CDLL(None)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log_path, "ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            libc.fflush(None)
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def log_tail(log_path: str, lines: int = 12) -> str:
    text = Path(log_path).read_text(errors="replace") if Path(log_path).exists() else ""
    kept = [line.split("\r")[-1].strip() for line in text.splitlines()]
    return "\n".join(line for line in kept if line)[-2000:] if kept else "(no output)"


def quantize(args: argparse.Namespace) -> None:
    import MNN
    import _tools

    for path in (args.float_mnn, args.out):
        Path(path).unlink(missing_ok=True)
    Path(args.log).write_text("")
    t0 = time.perf_counter()
    with native_output_to(args.log):
        _tools.mnnconvert(["mnnconvert", "-f", "ONNX", "--modelFile", args.model, "--MNNModel", args.float_mnn,
                           "--bizCode", "bench"])
    t1 = time.perf_counter()
    if not Path(args.float_mnn).is_file() or Path(args.float_mnn).stat().st_size == 0:
        raise SystemExit(f"mnnconvert wrote no model for {args.model}:\n{log_tail(args.log)}")
    before = Path(args.log).read_text(errors="replace")
    with native_output_to(args.log):
        _tools.mnnquant(["mnnquant", args.float_mnn, args.out, args.config])
    t2 = time.perf_counter()
    quant_log = Path(args.log).read_text(errors="replace")[len(before):]
    if not Path(args.out).is_file() or Path(args.out).stat().st_size == 0:
        raise SystemExit(f"mnnquant wrote no model for {args.float_mnn}:\n{log_tail(args.log)}")
    config = json.loads(Path(args.config).read_text())
    requested = config.get("feature_quantize_method", "KL")
    result = {
        "tool": "MNN",
        "version": MNN.version(),
        "method": requested,
        # mnnquant silently switches KL to EMA when the converted graph still holds a BatchNorm op.
        "methodUsed": "EMA" if EMA_OVERRIDE in quant_log else requested,
        "calibrationSamples": len([f for f in os.listdir(config["path"]) if not f.startswith(".")]),
        "convertSeconds": t1 - t0,
        "quantizeSeconds": t2 - t1,
        "totalSeconds": t2 - t0,
        "settings": "mnnconvert -f ONNX; mnnquant " + json.dumps(
            {k: v for k, v in config.items() if k not in ("path",)}, separators=(",", ":")),
    }
    Path(args.result).write_text(json.dumps(result, indent=2) + "\n")


def check_preprocess(args: argparse.Namespace) -> None:
    """Runs mnnquant's image preprocessing (Helper::preprocessInput) on the config's folder, compares with --calib."""
    import MNN
    from PIL import Image

    config = json.loads(Path(args.config).read_text())
    formats = {"GRAY": (MNN.CV_ImageFormat_GRAY, 1), "RGB": (MNN.CV_ImageFormat_RGB, 3),
               "BGR": (MNN.CV_ImageFormat_BGR, 3)}
    dest, channels = formats[config["format"]]
    pad4 = lambda v: tuple(float(x) for x in (list(v) + [0.0] * 4)[:4])  # noqa: E731
    process = MNN.CVImageProcess({
        "sourceFormat": MNN.CV_ImageFormat_RGBA,  # mnnquant decodes every image to RGBA (stbi_load, 4 channels)
        "destFormat": dest,
        "filterType": MNN.CV_Filter_BILINEAL,
        "mean": pad4(config.get("mean", [])),
        "normal": pad4(config.get("normal", [1.0, 1.0, 1.0, 1.0])),
    })
    width, height = config["width"], config["height"]
    calib = np.load(args.calib, mmap_mode="r")
    files = sorted(f for f in os.listdir(config["path"]) if not f.startswith("."))  # mnnquant sorts the names
    if len(files) != len(calib):
        raise SystemExit(f"{config['path']} holds {len(files)} files but {args.calib} has {len(calib)} samples")
    normal = np.array(pad4(config.get("normal", [1.0]))[:channels], dtype=np.float64).reshape(channels, 1, 1)
    worst, worst_levels, differing = 0.0, 0.0, 0
    for i, name in enumerate(files):
        rgba = np.ascontiguousarray(np.asarray(Image.open(Path(config["path"]) / name).convert("RGBA")))
        h, w = rgba.shape[:2]
        matrix = MNN.CVMatrix()
        # Helper::preprocessInput maps the target's corners onto the source's (no center crop by default).
        matrix.setPolyToPoly([0.0, 0.0, 0.0, height - 1.0, width - 1.0, 0.0, width - 1.0, height - 1.0],
                             [0.0, 0.0, 0.0, h - 1.0, w - 1.0, 0.0, w - 1.0, h - 1.0])
        process.setMatrix(matrix)
        tensor = MNN.Tensor((1, channels, height, width), MNN.Halide_Type_Float,
                            np.zeros((1, channels, height, width), dtype=np.float32), MNN.Tensor_DimensionType_Caffe)
        process.convert(rgba, w, h, 0, tensor)
        got = np.array(tensor.getNumpyData(), dtype=np.float32).reshape(calib.shape[1:])
        diff = np.abs(got.astype(np.float64) - calib[i]).reshape(channels, height, width)
        worst = max(worst, float(diff.max()))
        levels = diff / normal  # in 8-bit pixel levels
        worst_levels = max(worst_levels, float(levels.max()))
        differing += int((levels > 0.5).sum())
    Path(args.result).write_text(json.dumps({
        "samples": len(files),
        "maxAbsDiff": worst,
        "maxPixelLevels": round(worst_levels, 3),
        "differingShare": differing / float(calib.size),
    }) + "\n")


def evaluate(args: argparse.Namespace) -> None:
    import MNN.expr as F
    import MNN.nn as nn

    data = np.load(args.data, mmap_mode="r")
    runtime = nn.create_runtime_manager(({"backend": "CPU", "numThread": 1},))
    module = nn.load_module_from_file(args.model, [args.input], [args.output], runtime_manager=runtime)
    outputs = []
    for start in range(0, len(data), args.batch):
        batch = np.ascontiguousarray(data[start:start + args.batch], dtype=np.float32)
        out = F.convert(module.forward([F.const(batch, list(batch.shape), F.NCHW)])[0], F.NCHW)
        outputs.append(np.array(out.read(), dtype=np.float32, copy=True).reshape(len(batch), -1))
    np.save(args.out, np.concatenate(outputs))


def main() -> int:
    parser = argparse.ArgumentParser(description="MNN peer for deno task bench --peers")
    sub = parser.add_subparsers(dest="command", required=True)
    q = sub.add_parser("quantize")
    q.add_argument("--model", required=True)
    q.add_argument("--config", required=True)
    q.add_argument("--float-mnn", required=True)
    q.add_argument("--out", required=True)
    q.add_argument("--result", required=True)
    q.add_argument("--log", required=True)
    c = sub.add_parser("check-preprocess")
    c.add_argument("--config", required=True)
    c.add_argument("--calib", required=True)
    c.add_argument("--result", required=True)
    e = sub.add_parser("evaluate")
    e.add_argument("--model", required=True)
    e.add_argument("--data", required=True)
    e.add_argument("--input", required=True)
    e.add_argument("--output", required=True)
    e.add_argument("--batch", type=int, required=True)
    e.add_argument("--out", required=True)
    args = parser.parse_args()
    {"quantize": quantize, "check-preprocess": check_preprocess, "evaluate": evaluate}[args.command](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
