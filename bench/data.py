"""DataLoader throughput: decoding epoch vs cached epoch, worker counts, and the model's appetite.

For N synthetic DICOMs (06_synth, --source px stored) at 224 px model input, in one run:
  - images/s through `get_dataloaders` for the first epoch (decodes DICOM, fills the cache) and for a
    cached epoch (goal: cached >= 5x the first), with the 'light' augmentation;
  - the cached epoch with num_workers 0 and 2 (why 0 is the default on a 2-core machine);
  - images/s that resnet18 consumes in training (forward + backward + AdamW step, bs 32, CPU), so the
    loader is not the bottleneck when loader rate > model rate.

    python bench/data.py [--n 1000] [--size 224] [--source 256] [--reps 3]
"""
import argparse, os, tempfile, time, warnings
from pathlib import Path

import numpy as np
import torch

from medimg.data import get_dataloaders, patient_split
from medimg.models import create_model
from medimg.synth import make_synthetic_dataset
from medimg.transforms import Preprocess

def epoch_rate(dl):
    n, t = 0, time.perf_counter()
    for xb, yb in dl: n += len(xb)
    return n / (time.perf_counter() - t)

if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--n', type=int, default=1000)
    ap.add_argument('--size', type=int, default=224)
    ap.add_argument('--source', type=int, default=256, help='side of the stored DICOM images')
    ap.add_argument('--reps', type=int, default=3, help='fresh caches (first epochs) per worker count')
    a = ap.parse_args()
    warnings.simplefilter('ignore')
    with tempfile.TemporaryDirectory() as d:
        df = make_synthetic_dataset(Path(d)/'data', n_patients=a.n // 2, images_per_patient=(2, 2), size=a.source, seed=0).iloc[:a.n]
        df = patient_split(df, valid=0.1, test=0.1).assign(split='train')  # every image in train: one epoch = N images
        df.loc[df.index[:32], 'split'] = 'valid'
        pre = Preprocess(size=a.size)
        res = {}
        for nw in (0, 2):
            firsts, cacheds = [], []
            for rep in range(a.reps):   # a fresh cache each time: the first epoch decodes again
                dls = get_dataloaders(df, pre, aug='light', bs=32, cache=Path(d)/f'cache{nw}-{rep}', num_workers=nw)
                firsts.append(epoch_rate(dls.train)); cacheds += [epoch_rate(dls.train) for _ in range(3)]
            first, cached = float(np.median(firsts)), float(np.median(cacheds))
            res[nw] = (first, cached)
            print(f'num_workers={nw}: first (decoding) epoch {first:6.1f} img/s | cached epoch {cached:6.1f} img/s | '
                  f'cached/first {cached/first:.1f}x (goal >= 5; medians of {a.reps} first and {3 * a.reps} cached epochs)')
        torch.manual_seed(0)
        m = create_model('resnet18', 1); opt = torch.optim.AdamW(m.parameters(), 1e-3)
        x, y = torch.randn(32, 3, a.size, a.size), torch.rand(32, 1).round()
        m.train(); steps = 5
        for i in range(steps + 1):
            if i == 1: t = time.perf_counter()
            loss = torch.nn.functional.binary_cross_entropy_with_logits(m(x), y); opt.zero_grad(); loss.backward(); opt.step()
        model_rate = steps * 32 / (time.perf_counter() - t)
        best = max(res, key=lambda k: res[k][1])
        print(f'resnet18 training consumes {model_rate:.1f} img/s at {a.size} px; cached loader (workers={best}) '
              f'supplies {res[best][1]:.1f} img/s = {res[best][1]/model_rate:.1f}x the model rate ({os.cpu_count()} CPUs)')
