"""Segmentation benchmarks on this machine's CPU: tiled inference on a 1483 x 1481 field, the review-and-retrain loop, the demo.

--infer (default): one 1483 x 1481 16-bit field (the reference project's size), a U-Net (resnet18 encoder, 4 stages, 256 px
  windows, 25% overlap, Gaussian blending, 4 windows per call) predicted at full resolution by
  - MONAI's `sliding_window_inference` on the eager model (the baseline),
  - medimg's numpy `sliding_window` on the eager model,
  - `Predictor` on the ONNX bundle, from the TIFF file (reading, stretching, tiling, blending, postprocessing; no torch),
  - and one forward pass over the whole padded image (what tiling avoids: its memory).
  Each runs in a fresh process: seconds per image (median of --reps) and the process's peak RSS; ratios against MONAI's time.
  Goals (segmentation issue): the bundle within 1.2x of MONAI's time; its peak memory below 1.5 GB.
--loop [--epochs N]: round 1 trains on 6 labelled fields, predicts a pool of 20, flags the 6 most uncertain; their true masks stand in for
  the corrections; round 2 retrains on the 12. Both rounds are validated on the same 4 fields of other plates.
  With --control, a second round 2 adds 6 fields drawn at random instead (does ranking by uncertainty beat chance?).
  The pool is predicted with test-time mirroring (tta=True), so both uncertainty scores are printed with their Spearman
  correlation to each field's true error (1 - Dice against its mask): which one finds the fields that need correcting?
  --by disagreement flags by the views' disagreement instead of the mean entropy.
--demo: `demo(task='segmentation')` (medimg demo --task segmentation) timed end to end, with its whole-image Dice.

    python bench/seg.py [--infer] [--loop [--control] [--by entropy|disagreement]] [--demo] [--reps 3]
"""
import argparse, json, multiprocessing as mp, os, resource, shutil, tempfile, time, warnings
from pathlib import Path

import numpy as np

SIDE = (1483, 1481)
EPOCHS = None   # --epochs: the loop's training length (default: the demo's 12)


def _peak_mb()->float:
    "This process's peak resident memory (VmHWM: reset by exec, unlike ru_maxrss, which a spawned child inherits from its parent's fork)"
    for line in open('/proc/self/status'):
        if line.startswith('VmHWM:'): return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(method, bundle, image, reps, q):
    "Run one method in this fresh process; put (seconds per image, peak RSS in MB, RSS before the first call in MB)"
    warnings.simplefilter('ignore')
    from medimg.segmentation import SegPreprocess
    if method == 'bundle':
        from medimg.export import Predictor
        sp = Predictor.load(bundle)
        before = _peak_mb()
        f = lambda: sp.segment(image)
    else:
        import torch
        from medimg.run import load_run
        torch.set_num_threads(len(os.sched_getaffinity(0))); torch.set_grad_enabled(False)
        run = load_run(Path(bundle).parent)
        model, pre, cfg = run.model, run.preprocess, run.config
        x = torch.from_numpy(pre(image))[None]
        roi = (cfg.data.patch, cfg.data.patch)
        if method == 'monai':
            from monai.inferers import sliding_window_inference
            f = lambda: sliding_window_inference(x, roi, cfg.infer.tile_batch, lambda b: model(b).sigmoid(), overlap=cfg.infer.overlap, mode='gaussian')
        elif method == 'numpy':
            from medimg.segmentation import sliding_window
            from medimg.seg_training import torch_predictor
            pr = torch_predictor(model)
            f = lambda: sliding_window(x[0].numpy(), pr, roi, cfg.infer.overlap, cfg.infer.tile_batch)
        else:   # one forward pass over the whole image, padded to the encoder's stride
            h, w = x.shape[2:]; s = 32
            xp = torch.nn.functional.pad(x, (0, -w % s, 0, -h % s))
            f = lambda: model(xp).sigmoid()
        before = _peak_mb()
    ts = []
    for i in range(reps + 1):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    q.put((float(np.median(ts[1:])), _peak_mb(), before))


def measure(method, bundle, image, reps):
    q = mp.get_context('spawn').Queue()
    p = mp.get_context('spawn').Process(target=_child, args=(method, str(bundle), str(image), reps, q))
    p.start(); r = q.get(); p.join()
    return r


def _cfg(d, name, labels, *overrides):
    "A segmentation experiment under d: grayscale fields, no normalisation, the labels given"
    from medimg.config import load_config
    return load_config(overrides=[f'output_dir={d}', f'name={name}', 'data.task=segmentation', 'data.synth_task=segmentation', f"data.labels=[{', '.join(labels)}]",
                                  'data.channels=1', 'data.normalize=none', *overrides])


def _train(d, df, labels, name, epochs=12, track=False):
    "The demo's recipe (`SEG_DEMO_RECIPE['full']`) on df, as `train` runs it"
    from medimg.pipeline import SEG_DEMO_RECIPE
    from medimg.training import train
    over = [o for o in SEG_DEMO_RECIPE['full']['overrides'] if not o.startswith('train.epochs=')]
    return train(_cfg(d, name, labels, *over, f'train.epochs={EPOCHS or epochs}', f'train.track={str(track).lower()}'), df, quiet=True)


def infer(reps:int):
    import tifffile
    from medimg.export import export_bundle
    from medimg.synth_seg import SPHEROID_LABELS, make_spheroid_dataset, render_spheroids
    from medimg.training import train
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        df = make_spheroid_dataset(d/'data', n_images=4, size=(512, 512), seed=0, plates=2)
        # the timing does not depend on the weights: one short epoch at full resolution gives a real run folder and bundle
        r = train(_cfg(d, 'run', SPHEROID_LABELS, 'model.depth=4', 'data.patch=256', 'data.per_image=2', 'train.epochs=1', 'data.bs=4', 'data.valid_pct=0.5',
                       'data.test_pct=0', 'train.track=false'), df, quiet=True)
        bundle = export_bundle(r, r.run_dir/'bundle')
        img, _ = render_spheroids(np.random.default_rng(7), *SIDE)
        image = d/'field.tif'; tifffile.imwrite(image, img)
        res = {m: measure(m, bundle, image, reps) for m in ('monai', 'numpy', 'bundle', 'whole')}
    base = res['monai'][0]
    print(f"\n{SIDE[0]} x {SIDE[1]} px, 256 px windows, 25% overlap, 4 per call, {len(os.sched_getaffinity(0))} cores; median of {reps}")
    print(f"{'method':<34}{'s/image':>9}{'x MONAI':>9}{'peak RSS MB':>13}{'RSS before MB':>15}")
    names = dict(monai="MONAI sliding_window_inference", numpy="medimg sliding_window (torch)", bundle="Predictor (ONNX bundle, file)", whole="one forward pass, whole image")
    for m, (s, peak, before) in res.items():
        print(f"{names[m]:<34}{s:>9.2f}{s / base:>9.2f}{peak:>13.0f}{before:>15.0f}")
    print(f"goal: bundle <= 1.2x MONAI ({res['bundle'][0] / base:.2f}x); bundle peak < 1500 MB ({res['bundle'][1]:.0f} MB)")
    return res


def loop(control:bool, by:str='entropy'):
    import pandas as pd
    from medimg.export import Predictor, export_bundle
    from medimg.seg_bundle import merge_corrections, review_page
    from medimg.synth_seg import SPHEROID_LABELS, make_spheroid_dataset
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        size = (1024, 1280)
        lab = make_spheroid_dataset(d/'labelled', n_images=6, size=size, seed=10, plates=3)
        val = make_spheroid_dataset(d/'valid', n_images=4, size=size, seed=11, plates=2)
        pool = make_spheroid_dataset(d/'pool', n_images=20, size=size, seed=12, plates=5)
        both = lambda tr: pd.concat([tr.assign(split='train'), val.assign(split='valid')], ignore_index=True)
        t = time.perf_counter()
        r1 = _train(d, both(lab), SPHEROID_LABELS, 'round1')
        sp = Predictor.load(export_bundle(r1, d/'round1'/'bundle'))
        q = review_page(sp.predict(pool, out=d/'pred', tta=True), d/'pred', n_flag=6, by=by)
        from medimg.segmentation import read_mask
        from PIL import Image
        truth = pool.set_index('path')['mask']
        def dice(r):
            a, b = np.asarray(Image.open(r['mask'])) > 0, read_mask(truth[r.path], SPHEROID_LABELS) > 0
            return 2 * (a & b).sum() / max(a.sum() + b.sum(), 1)
        q['true_error'] = 1 - q.apply(dice, axis=1)
        rho = {k: q[k].corr(q.true_error, method='spearman') for k in ('entropy', 'disagreement')}
        rounds = {'round 1 (6 labelled)': r1.metrics}
        picks = {'round 2, 6 most uncertain added': list(q.path[q.flagged])}
        if control: picks['round 2, 6 random added (control)'] = list(pool.path.sample(6, random_state=0))
        for name, chosen in picks.items():
            corr = d/f'corr-{len(rounds)}'; corr.mkdir()
            for p in chosen: shutil.copy(pool.set_index('path').loc[p, 'mask'], corr/(Path(p).stem + '.png'))   # the "corrections": true masks
            merged = merge_corrections(lab, pool.drop(columns='mask'), corr, SPHEROID_LABELS, sp.meta['model']['config_hash'], 'synthetic truth', 1)
            rounds[name] = _train(d, both(merged), SPHEROID_LABELS, f'round{len(rounds) + 1}').metrics
    print(f"\nreview-and-retrain loop ({time.perf_counter() - t:.0f} s): validation on the same 4 fields of other plates")
    print(pd.DataFrame(rounds).T[['dice', 'iou_spheroid', 'hd95_spheroid', 'obj_precision', 'obj_recall']].round(3).to_string())
    print(f"flagged by {by}; {by} of the flagged fields: {q[by][q.flagged].mean():.3f}, of the others: {q[by][~q.flagged].mean():.3f}")
    print(f"pool of 20, per-field error 1 - Dice {q.true_error.mean():.3f} (range {q.true_error.min():.3f}-{q.true_error.max():.3f}); Spearman correlation with the error: "
          f"entropy {rho['entropy']:.2f}, views' disagreement {rho['disagreement']:.2f}; error of the 6 flagged {q.true_error[q.flagged].mean():.3f}, of the rest {q.true_error[~q.flagged].mean():.3f}")
    return rounds


def demo():
    from medimg.pipeline import demo as run_demo
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter(); r = run_demo(d, quiet=True, task='segmentation'); s = time.perf_counter() - t
        raw = json.loads((r.training.run_dir/'summary.json').read_text())['valid_raw']
    m = r.training.metrics
    print(f"\nsegmentation demo: {s:.0f} s ({s / 60:.2f} min; goal <= 5 min): " + ', '.join(f'{k} {v:.0f} s' for k, v in r.seconds.items()))
    print(f"whole-image validation: Dice {m['dice']:.3f} (before postprocessing {raw['dice']:.3f}), HD95 {m['hd95_spheroid']:.1f} px "
          f"({raw['hd95_spheroid']:.1f}), objects precision {m['obj_precision']:.2f} ({raw['obj_precision']:.2f}), recall {m['obj_recall']:.2f} ({raw['obj_recall']:.2f})")
    return r


if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--infer', action='store_true'); ap.add_argument('--loop', action='store_true'); ap.add_argument('--control', action='store_true')
    ap.add_argument('--demo', action='store_true'); ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--epochs', type=int, help='epochs per round of --loop (default 12)')
    ap.add_argument('--by', default='entropy', choices=('entropy', 'disagreement'), help='what --loop flags by')
    a = ap.parse_args()
    warnings.simplefilter('ignore')
    EPOCHS = a.epochs
    if not (a.infer or a.loop or a.demo): a.infer = True
    if a.infer: infer(a.reps)
    if a.loop: loop(a.control, a.by)
    if a.demo: demo()
