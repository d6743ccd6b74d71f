"""`medimg medmnist` on a real MedMNIST file: wall time per stage, validation metrics, and test metrics where the file has a test split.

The whole recipe (adapter, resnet10t from scratch at 48 px for 8 epochs with the `medium` augmentation, calibration and
operating point on val, evaluation of test with its prevalence and shift check, export) is a pipeline, so it is measured
here and not in a test cell. Baseline in the same run: the training stage, so the ratio says what the rest costs.
Goals (real-data issue, PneumoniaMNIST): the whole run <= 10 min on 2 cores; on the official test split ROC-AUC >= 0.97,
accuracy >= 0.90, the shift flagged, test ECE of the final probabilities <= 0.05.

    python bench/medmnist.py --npz ../shared/data/pneumoniamnist/pneumoniamnist_trainval.npz [--out DIR] [KEY=VALUE ...]
"""
import argparse, json, resource, tempfile, time, warnings

import numpy as np

from medimg.calibration import adjust_prevalence, ece, estimate_prevalence
from medimg.pipeline import medmnist

def simulated_shifts(y, p, pi, n=500, seed=0):
    "Resample (y, p) to prevalences 0.1..0.9 (n images each, with replacement): EM's error and the ECE before/after adjustment"
    rng, rows = np.random.default_rng(seed), []
    for q in (0.1, 0.3, 0.5, 0.7, 0.9):
        k = int(round(q * n))
        idx = np.r_[rng.choice(np.flatnonzero(y == 1), k), rng.choice(np.flatnonzero(y == 0), n - k)]
        em = estimate_prevalence(p[idx], pi)
        rows.append((q, em, ece(y[idx], p[idx]), ece(y[idx], adjust_prevalence(p[idx], pi, em))))
    return rows

if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--npz', required=True, help='a MedMNIST v2 .npz')
    ap.add_argument('--out', help='keep the run here (default: a temporary folder)')
    ap.add_argument('overrides', nargs='*', help='dotted config overrides on top of the recipe')
    a = ap.parse_args()
    warnings.simplefilter('ignore')
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        r = medmnist(a.npz, a.out or d, a.overrides, quiet=True)
        total = time.perf_counter() - t0
        s = json.loads((r.run_dir/'summary.json').read_text())
    secs, m = r.seconds, r.summary
    print('stage seconds: ' + ', '.join(f'{k} {v:.1f}' for k, v in secs.items()) + f' | total {total:.1f} s ({total/60:.2f} min)')
    print(f"ratio total / training stage {total/secs['train']:.2f}; total / goal (600 s) {total/600:.2f}; best epoch {s['best_epoch']} of {s['epochs_run']}")
    v = m['validation']
    print(f"validation (raw, 0.5): ROC-AUC {v['roc_auc']:.4f}, sensitivity {v['sensitivity']:.3f}, specificity {v['specificity']:.3f}")
    for split in ('test', 'valid'):
        if split not in m: continue
        e = m[split]
        for k in ('uncalibrated', 'calibrated'):
            o = e[k]
            print(f"{split} {k:<12}: ROC-AUC {o['roc_auc']:.4f}, accuracy {o['accuracy']:.3f} at {o['threshold']:.3g}, sensitivity {o['sensitivity']:.3f}, "
                  f"specificity {o['specificity']:.3f}, ECE {o['ece']:.3f}, Brier {o['brier']:.3f}")
        if 'prevalence' in e:
            p = e['prevalence']
            print(f"{split} prevalence: validation {p['validation']:.3f}, true {p['true']:.3f}, EM {p['estimated_em']}, BBSE {p['estimated_bbse']}; {p['message']}")
            if e['adjusted']: print(f"{split} adjusted to the estimate: ECE {e['adjusted']['ece']:.3f}, Brier {e['adjusted']['brier']:.3f}")
            for w in e['warnings']: print(f"{split} warning: {w}")
    ev = r.evaluation
    if ev.task == 'binary':
        pi = ev.shift['validation_prevalence']
        print(f"simulated prevalence shifts of the {ev.split} split's calibrated probabilities (500 images each, resampled):")
        for q, em, e0, e1 in simulated_shifts(ev.y.astype(int), ev.p_cal, pi):
            print(f"  prevalence {q:.1f}: EM {em:.3f} (error {em - q:+.3f}); ECE {e0:.3f} -> {e1:.3f} after adjustment")
        if ev.conformal and 'error' not in ev.conformal:
            c = ev.conformal
            print(f"prediction sets (alpha {c['alpha']}, {c['score']}, class-conditional): coverage {c['coverage']:.3f} "
                  f"per class {', '.join(f'{k} {v:.3f}' for k, v in c['coverage_per_class'].items())}; referred {c['referral_rate']:.1%}")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GB")
