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
ratio much; only a faster convolution (int8, see bench/infer.py) can. Where OpenVINO is installed (it is not a medimg
dependency: `pip install openvino`), its CPU runtime runs the same ONNX file at f32 and at bf16 (AMX or AVX-512 BF16 where
the CPU has them; a reduced precision, as int8 is), with its largest logit change printed. It is loaded only after the
interleaved rounds, so that its threads cannot touch them, and timed in blocks between a block of eager PyTorch before it
was loaded (the ratio's baseline) and one after.
Caveat: the order within a round is fixed, so a variant that follows eager PyTorch may pay for its cache misses; differences
under about 10% between ONNX Runtime variants are not resolved by this design (two runs on 2026-12-03 put the split batch
8-9% ahead of `ort_session`, while bench/infer.py, timing each backend in a block, found them equal).

    python bench/ort_options.py [--rounds 30] [--size 128]
"""
import argparse, collections, json, os, tempfile, time, warnings
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
        def session(threads=threads, spin='0', level=None, mem=True, arena=True, profile=False):
            so = ort.SessionOptions(); so.intra_op_num_threads = threads; so.log_severity_level = 3
            if profile: so.enable_profiling, so.profile_file_prefix = True, str(Path(d)/'profile')
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
        prof = session(profile=True)   # ort_session's settings, profiled
        for _ in range(5): prof.run(None, {'image': x})
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
        def block(f):
            for _ in range(2): f()
            out = []
            for _ in range(a.rounds): t = time.perf_counter(); f(); out.append(time.perf_counter() - t)
            return out
        ov_ts, ov_diff = {}, {}
        try: import openvino as ov
        except ImportError: ov = None; print('OpenVINO not installed: its rows are left out')
        if ov is not None:   # after the rounds: once loaded, its threads could slow the others
            ov_ts['eager (NCHW), before OpenVINO'] = block(variants['eager PyTorch (NCHW)'])
            for prec in ('f32', 'bf16'):
                req = ov.Core().compile_model(path, 'CPU', {'INFERENCE_PRECISION_HINT': prec, 'INFERENCE_NUM_THREADS': threads,
                                                             'PERFORMANCE_HINT': 'LATENCY'}).create_infer_request()
                f = (lambda r: lambda: next(iter(r.infer({0: x}).values())))(req)
                diff = float(np.abs(f() - ref).max())
                if prec == 'f32': assert diff < 1e-3, prec
                else: ov_diff[f'OpenVINO {prec}'] = diff   # reduced precision: its change is printed, not bounded
                ov_ts[f'OpenVINO {ov.__version__.split("-")[0]} {prec}'] = block(f)
            ov_ts['eager (NCHW), after OpenVINO'] = block(variants['eager PyTorch (NCHW)'])
    ts = {k: np.array(v) for k, v in ts.items()}; e = ts['eager PyTorch (NCHW)']
    print(f"resnet18 at {a.size} px, batch 32, {threads} threads, onnxruntime {ort.__version__}, torch {torch.__version__}; {a.rounds} interleaved rounds")
    print(f"{'variant':<32}{'median s':>10}{'p10 s':>9}{'p90 s':>9}{'img/s':>8}{'x eager (paired)':>18}")
    row = lambda k, v, ratio: print(f"{k:<32}{np.median(v):>10.4f}{np.percentile(v, 10):>9.4f}{np.percentile(v, 90):>9.4f}{32 / np.median(v):>8.0f}{ratio:>18.2f}")
    for k, v in ts.items(): row(k, v, np.median(e / v))
    total = sum(kernel.values())
    print("ONNX Runtime's kernel time by operator (its profiler, 5 runs): " + ', '.join(f'{k} {v / total:.1%}' for k, v in kernel.most_common(4)))
    if ov_ts:
        eb = np.median(ov_ts['eager (NCHW), before OpenVINO'])
        print(f"timed in blocks after the rounds ({a.rounds} calls each), against eager PyTorch's block before OpenVINO was loaded:")
        for k, v in ov_ts.items(): row(k, v, eb / np.median(v))
    for k, v in ov_diff.items(): print(f"{k}: largest logit change against fp32 ONNX Runtime {v:.2e} (random weights)")
