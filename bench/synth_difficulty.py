"""How hard is the synthetic dataset? Train a small CNN on it and report test ROC-AUC.

A plain PyTorch loop (no medimg training code): medimg's reader, a patient-level split
(scikit-learn's GroupShuffleSplit), timm resnet18 from scratch at 128 px, AdamW with one-cycle.
The 06_synth issue asks for a test ROC-AUC around 0.95 at the default settings in a few CPU
minutes - hard enough to be a real task, easy enough to learn. Usage:

    python bench/synth_difficulty.py [--seeds 0 1 2 3] [--epochs 25] [--size 128]
"""
import argparse, tempfile, time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupShuffleSplit

from medimg.environment import seed_everything
from medimg.io import read_image
from medimg.models import create_model, model_norm_stats
from medimg.synth import make_synthetic_dataset

def load(df, size):
    x = np.stack([read_image(p) for p in df.path])
    t = F.interpolate(torch.from_numpy(x)[:, None], size=(size, size), mode='bilinear', antialias=True, align_corners=False)
    return t.repeat(1, 3, 1, 1), torch.tensor((df.label == 'nodule').values, dtype=torch.float32)

def run(seed, epochs, size, bs=32, lr=2e-3):
    seed_everything(seed)
    with tempfile.TemporaryDirectory() as d:
        df = make_synthetic_dataset(Path(d), seed=seed)
        x, y = load(df, size)
    g = df.patient_id.values
    trval, test = next(GroupShuffleSplit(1, test_size=0.15, random_state=seed).split(x, y, g))
    tr, va = next(GroupShuffleSplit(1, test_size=0.15 / 0.85, random_state=seed).split(trval, y[trval], g[trval]))
    tr, va = trval[tr], trval[va]
    model = create_model('resnet18', labels=['no_finding', 'nodule'])
    st = model_norm_stats(model)
    mean, std = torch.tensor(st['mean'])[:, None, None], torch.tensor(st['std'])[:, None, None]
    norm = lambda t: (t - mean) / std
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-2)
    steps = epochs * int(np.ceil(len(tr) / bs))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    t0 = time.perf_counter()
    for ep in range(epochs):
        model.train()
        for idx in torch.randperm(len(tr)).split(bs):
            b = torch.as_tensor(tr)[idx]
            xb = x[b]
            # light augmentation: small shifts and intensity jitter
            sh = torch.randint(-6, 7, (2,)).tolist()
            xb = torch.roll(xb, shifts=sh, dims=(2, 3)) * (1 + 0.1 * (torch.rand(len(b), 1, 1, 1) - 0.5))
            loss = F.binary_cross_entropy_with_logits(model(norm(xb))[:, 0], y[b])
            opt.zero_grad(); loss.backward(); opt.step(); sched.step()
    model.eval()
    with torch.no_grad():
        p = lambda ix: torch.sigmoid(model(norm(x[ix]))[:, 0]).numpy()
        res = dict(seed=seed, n_images=len(df), n_test=len(test), test_pos=int(y[test].sum()),
                   valid_auc=roc_auc_score(y[va], p(va)), test_auc=roc_auc_score(y[test], p(test)),
                   train_minutes=(time.perf_counter() - t0) / 60)
    return res

if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2, 3])
    ap.add_argument('--epochs', type=int, default=25)
    ap.add_argument('--size', type=int, default=128)
    a = ap.parse_args()
    rows = [run(s, a.epochs, a.size) for s in a.seeds]
    for r in rows:
        print(f"seed {r['seed']}: {r['n_images']} images, test {r['n_test']} ({r['test_pos']} positive): "
              f"valid AUC {r['valid_auc']:.3f}, test AUC {r['test_auc']:.3f}, training {r['train_minutes']:.1f} min")
    print(f"mean test ROC-AUC over {len(rows)} seeds: {np.mean([r['test_auc'] for r in rows]):.3f}")
