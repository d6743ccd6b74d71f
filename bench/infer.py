"""Inference speed of an exported bundle against eager PyTorch, in one run on this machine's CPU.

For the demo model (resnet18 at 128 px; trained first unless --run names a finished run) it measures
- latency p50/p95 at batch 1 and throughput at batch 32 for eager PyTorch, ONNX Runtime on the bundle's
  fp32 model, ONNX Runtime on the int8 bundle, and, for reference, torch.export and TorchScript (which
  bundles do not carry: both archives hold pickles);
- `Predictor` end to end from the DICOM files at batch 32 against model-only time on the same images;
- the int8 model's validation ROC-AUC and ECE change (from the bundle's metrics.json) and its test ROC-AUC change.
Goals (export issue): ONNX >= 1.8x eager at batch 1; Predictor <= 1.3x model-only at batch 32;
int8 >= 1.5x fp32 ONNX Runtime; ROC-AUC loss <= 0.005.

    python bench/infer.py [--run runs/demo-...] [--reps 200]
"""
import argparse, json, os, tempfile, time, warnings
from pathlib import Path

import numpy as np
import torch

from medimg.calibration import load_run
from medimg.export import Predictor, ort_session, export_bundle


def timeit(f, reps:int, warmup:int=3)->np.ndarray:
    for _ in range(warmup): f()
    ts = []
    for _ in range(reps):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return np.array(ts)


if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--run', help='a finished run folder (default: train the demo config into a temporary folder)')
    ap.add_argument('--reps', type=int, default=200, help='timed calls at batch 1 (batch 32: reps // 10)')
    a = ap.parse_args()
    warnings.simplefilter('ignore')
    threads = len(os.sched_getaffinity(0))
    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        if a.run: run_dir = Path(a.run)
        else:
            from medimg.config import load_config
            from medimg.training import train
            run_dir = train(load_config(overrides=[f'output_dir={d}', 'train.track=false']), quiet=True).run_dir
        run = load_run(run_dir)
        fp32 = export_bundle(run_dir, d/'fp32', formats=('onnx',))
        int8 = export_bundle(run_dir, d/'int8', formats=('onnx',), quantize='int8')
        df = run.manifest
        paths = df[df.split.isin(['valid', 'test'])].path.tolist()
        paths = (paths * (1 + 96 // len(paths)))[:96]          # 3 batches of 32 files
        pre, model = run.preprocess, run.model.eval()
        X = np.stack([pre(p) for p in paths]).astype(np.float32)
        x1, x32 = X[:1], X[:32]
        s32, s8 = ort_session(fp32/'model.onnx'), ort_session(int8/'model.onnx')
        ep = torch.export.export(model, (torch.from_numpy(x32),), dynamic_shapes=({0: torch.export.Dim('batch', min=1, max=4096)},)).module()
        ts = torch.jit.trace(model, torch.from_numpy(x32)); ts = torch.jit.freeze(ts.eval())
        def torch_fn(m):
            def f(x):
                with torch.inference_mode(): return m(torch.from_numpy(x)).numpy()
            return f
        backends = {'eager torch': torch_fn(model), 'ONNX Runtime fp32': lambda x: s32.run(None, {'image': x})[0],
                    'ONNX Runtime int8': lambda x: s8.run(None, {'image': x})[0],
                    'torch.export': torch_fn(ep), 'TorchScript (frozen)': torch_fn(ts)}
        rows = {}
        for name, f in backends.items():
            t1, t32 = timeit(lambda: f(x1), a.reps), timeit(lambda: f(x32), max(5, a.reps // 10))
            rows[name] = dict(p50=np.median(t1) * 1e3, p95=np.percentile(t1, 95) * 1e3, ips=32 / np.median(t32), t32=np.median(t32))
        print(f"CPU threads {threads}; {run.config.model.arch} at {pre.size} px; batch 1 over {a.reps} calls, batch 32 over {max(5, a.reps // 10)}")
        print(f"{'backend':<22}{'p50 bs1 ms':>12}{'p95 bs1 ms':>12}{'bs32 img/s':>12}{'x eager bs1':>13}{'x eager bs32':>13}")
        e = rows['eager torch']
        for k, r in rows.items():
            print(f"{k:<22}{r['p50']:>12.2f}{r['p95']:>12.2f}{r['ips']:>12.1f}{e['p50'] / r['p50']:>13.2f}{r['ips'] / e['ips']:>13.2f}")
        # Predictor end to end (files -> calibrated probabilities) vs model-only on the same 96 images, batch 32
        p = Predictor.load(fp32)
        model_only = float(np.median(timeit(lambda: [p.logits(X[i:i + 32]) for i in range(0, 96, 32)], 5, 1)))
        e2e = float(np.median(timeit(lambda: p.predict(paths, bs=32), 5, 1)))
        serial = float(np.median(timeit(lambda: [pre(q) for q in paths], 3, 1)))
        print(f"\nPredictor from DICOM, 96 files at batch 32: {e2e:.3f} s; model only {model_only:.3f} s; ratio {e2e / model_only:.2f} "
              f"(goal <= 1.3; decoding + preprocessing alone, serial: {serial:.3f} s)")
        q = json.loads((int8/'metrics.json').read_text())['export']['quantization']
        test = df[df.split == 'test']
        from medimg.data import targets
        from sklearn.metrics import roc_auc_score
        yt = targets(test, run.task, run.labels)
        auc = {k: roc_auc_score(yt, Predictor.load(b).predict(test.path.tolist()).prob) for k, b in (('fp32', fp32), ('int8', int8))}
        print(f"int8 vs fp32 ONNX Runtime: {rows['ONNX Runtime fp32']['p50'] / rows['ONNX Runtime int8']['p50']:.2f}x at batch 1, "
              f"{rows['ONNX Runtime int8']['ips'] / rows['ONNX Runtime fp32']['ips']:.2f}x at batch 32 (goal >= 1.5x)")
        print(f"int8 validation ({q['images']} images): ROC-AUC {q['fp32']['roc_auc']:.4f} -> {q['int8']['roc_auc']:.4f} ({q['roc_auc_change']:+.4f}), "
              f"ECE {q['fp32']['ece']:.4f} -> {q['int8']['ece']:.4f} ({q['ece_change']:+.4f}); max |logit change| {q['max_abs_diff_logits']:.3g}")
        print(f"int8 test ({len(test)} images): ROC-AUC {auc['fp32']:.4f} -> {auc['int8']:.4f} ({auc['int8'] - auc['fp32']:+.4f}); goal: loss <= 0.005")
