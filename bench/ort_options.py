"""ONNX Runtime session settings at batch 32 against eager PyTorch, measured interleaved in one run.

The demo's architecture (timm resnet18, one logit, 3 x 128 x 128 input; random weights: speed does not depend on them)
exported with medimg's `export_onnx`, then timed at batch 32 under each setting:
  - medimg's `ort_session` (all graph optimisations, idle threads sleep instead of spinning);
  - spinning threads; `ORT_ENABLE_EXTENDED` instead of `ORT_ENABLE_ALL` (no NCHWc layout transformation);
  - no memory pattern; no CPU memory arena;
  - the batch as one half per core on a one-thread session (inter-op instead of intra-op parallelism);
against eager PyTorch (NCHW and channels-last). Every round calls each variant once, in turn, so that a host that
speeds up or slows down during the run moves all of them alike; the table gives medians over the rounds and each
variant's median paired ratio to eager NCHW in the same rounds. Goal (performance issue): ONNX Runtime >= 1.8x eager at batch 32.
Then ONNX Runtime's own profiler, on `ort_session`'s settings, gives the share of each operator in its kernel time: with
Conv (into which the optimiser fuses every BatchNorm, Relu and residual Add) at about 98%, no session setting can move the
ratio much; only a faster convolution (int8, see bench/infer.py) can.
Caveat: the order within a round is fixed, so a variant that follows eager PyTorch may pay for its cache misses; differences
under about 10% between ONNX Runtime variants are not resolved by this design (two runs on 2026-12-03 put the split batch
8-9% ahead of `ort_session`, while bench/infer.py, timing each backend in a block, found them equal).

    python bench/ort_options.py [--rounds 30] [--size 128]
"""
import argparse, os, tempfile, time, warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np


if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--rounds', type=int, default=30); ap.add_argument('--size', type=int, default=128)
    a = ap.parse_args()
    warnings.simplefilter('ignore')
    import onnxruntime as ort, timm, torch
    from medimg.export import export_onnx, ort_session
    threads = len(os.sched_getaffinity(0)); torch.set_num_threads(threads)
    m = timm.create_model('resnet18', pretrained=False, num_classes=1, in_chans=3).eval()
    m_cl = timm.create_model('resnet18', pretrained=False, num_classes=1, in_chans=3).eval().to(memory_format=torch.channels_last)
    m_cl.load_state_dict(m.state_dict())
    x = np.random.default_rng(0).standard_normal((32, 3, a.size, a.size)).astype(np.float32)
    with tempfile.TemporaryDirectory() as d:
        path = str(export_onnx(m, Path(d)/'r18.onnx', a.size, 3))
        def session(threads=threads, spin='0', level=None, mem=True, arena=True):
            so = ort.SessionOptions(); so.intra_op_num_threads = threads; so.log_severity_level = 3
            so.add_session_config_entry('session.intra_op.allow_spinning', spin)
            if level is not None: so.graph_optimization_level = level
            so.enable_mem_pattern, so.enable_cpu_mem_arena = mem, arena
            return ort.InferenceSession(path, so, providers=['CPUExecutionProvider'])
        run = lambda s: (lambda: s.run(None, {'image': x})[0])
        one, pool, half = session(threads=1), ThreadPoolExecutor(threads), -(-32 // threads)
        def split():
            fs = [pool.submit(one.run, None, {'image': x[i:i + half]}) for i in range(0, 32, half)]
            return np.concatenate([f.result()[0] for f in fs])
        def eager(model, cl=False):
            def f():
                t = torch.from_numpy(x)
                with torch.inference_mode(): return model(t.contiguous(memory_format=torch.channels_last) if cl else t).numpy()
            return f
        variants = {'eager PyTorch (NCHW)': eager(m), 'eager PyTorch (channels-last)': eager(m_cl, True),
                    "medimg ort_session": run(ort_session(path)), 'spinning threads': run(session(spin='1')),
                    'ORT_ENABLE_EXTENDED': run(session(level=ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED)),
                    'no memory pattern': run(session(mem=False)), 'no memory arena': run(session(arena=False)),
                    f'{threads} halves, 1-thread session': split}
        so = ort.SessionOptions(); so.intra_op_num_threads = threads; so.log_severity_level = 3
        so.add_session_config_entry('session.intra_op.allow_spinning', '0'); so.enable_profiling = True; so.profile_file_prefix = str(Path(d)/'profile')
        prof = ort.InferenceSession(path, so, providers=['CPUExecutionProvider'])
        for _ in range(5): prof.run(None, {'image': x})
        import collections, json
        kernel = collections.Counter()
        for e in json.loads(Path(prof.end_profiling()).read_text()):
            if e.get('cat') == 'Node' and e['name'].endswith('_kernel_time'): kernel[e['args']['op_name']] += e['dur']
        ref = variants["medimg ort_session"]()
        for k, f in variants.items():
            assert np.abs(f() - ref).max() < 1e-3, k     # the same logits (eager and ONNX agree to float rounding)
            for _ in range(2): f()
        ts = {k: [] for k in variants}
        for _ in range(a.rounds):
            for k, f in variants.items():
                t = time.perf_counter(); f(); ts[k].append(time.perf_counter() - t)
    ts = {k: np.array(v) for k, v in ts.items()}; e = ts['eager PyTorch (NCHW)']
    print(f"resnet18 at {a.size} px, batch 32, {threads} threads, onnxruntime {ort.__version__}, torch {torch.__version__}; {a.rounds} interleaved rounds")
    print(f"{'variant':<32}{'median s':>10}{'p10 s':>9}{'p90 s':>9}{'img/s':>8}{'x eager (paired)':>18}")
    for k, v in ts.items():
        print(f"{k:<32}{np.median(v):>10.4f}{np.percentile(v, 10):>9.4f}{np.percentile(v, 90):>9.4f}{32 / np.median(v):>8.0f}{np.median(e / v):>18.2f}")
    total = sum(kernel.values())
    print("ONNX Runtime's kernel time by operator (its profiler, 5 runs): " + ', '.join(f'{k} {v / total:.1%}' for k, v in kernel.most_common(4)))
