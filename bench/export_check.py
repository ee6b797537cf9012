#!/usr/bin/env python3
"""Check an `esmm export` ONNX file from Python's onnxruntime.

Usage: python3 bench/export_check.py MODEL.onnx CASE.json
CASE.json (written by dist/bench/export-check.js): {"inputs": {name: {"data": [...], "dims": [...]}},
"expected": {output: [...]}}. Input dtypes come from the model's metadata_props (esmm_inputs).
Prints one JSON line; exits 1 when a prediction differs by more than 1e-6.
"""
import json
import sys

import numpy as np
import onnxruntime as ort


def main() -> int:
    model_path, case_path = sys.argv[1], sys.argv[2]
    session = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    declared = {i["name"]: i for i in json.loads(meta["esmm_inputs"])}
    with open(case_path) as f:
        case = json.load(f)
    feeds = {}
    for name, value in case["inputs"].items():
        dtype = np.int64 if declared[name]["dtype"] == "int64" else np.float32
        feeds[name] = np.asarray(value["data"], dtype=dtype).reshape(value["dims"])
    missing = sorted(set(i.name for i in session.get_inputs()) - set(feeds))
    outputs = json.loads(meta["esmm_outputs"])
    got = session.run(outputs, feeds)
    worst = {name: float(np.max(np.abs(g.reshape(-1) - np.asarray(case["expected"][name], dtype=np.float32)))) for name, g in zip(outputs, got)}
    checker = "onnx not installed"
    try:
        import onnx

        onnx.checker.check_model(onnx.load(model_path), full_check=True)
        checker = "ok"
    except ImportError:
        pass
    except Exception as e:  # the checker's own error types vary by version
        checker = f"failed: {e}"
    ok = not missing and all(v <= 1e-6 for v in worst.values()) and not checker.startswith("failed")
    print(json.dumps({
        "check": "export_python",
        "onnxruntime": ort.__version__,
        "model": meta.get("esmm_model"),
        "rows": int(next(iter(feeds.values())).shape[0]),
        "inputs": [i.name for i in session.get_inputs()],
        "missing_inputs": missing,
        "max_abs_diff": worst,
        "onnx_checker": checker,
        "feature_spec": meta.get("esmm_feature_spec_file", "embedded" if "esmm_feature_spec" in meta else None),
        "ok": ok,
    }))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
