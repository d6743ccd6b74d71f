"""Training overhead of medimg's `train()` against a bare PyTorch loop, in one run.

Both train timm resnet18 from scratch at --size px on the synthetic dataset with the same batch size, Adam and
the same number of steps per epoch. The bare loop runs on tensors preloaded in memory (no augmentation) and
times its train + validation passes. medimg's epochs are timed by wall clock from the start of one epoch to the
start of the next (a callback ordered first), so everything an epoch costs counts: the cached loader, clinical
metrics, EMA, the best/last/resume checkpoints, history.csv and MLflow logging. The first epoch (decoding, cache
filling) and the last (no next start) are left out of both. medimg runs:
  - `light` augmentation, tracking off (the demo's loop);
  - no augmentation, tracking off: the framework's overhead alone, comparable to the bare loop;
  - no augmentation, EMA and MLflow tracking on: the goal of the performance issue, ratio <= 1.05.
  - no augmentation, EMA on, tracking off: what the EMA alone costs.
The bare loop runs before each of them and after the last, and each ratio is taken against the mean of the bare loops
just before and just after it, so that a machine that slows down during the run (shared hosts do) is not charged to the
configurations that ran last; the bare loops' spread is the noise floor of the ratios. The CPU-time ratio (all
threads of the process) is printed too: on a virtual machine whose host steals time, it is the steadier of the two. Also prints images/s and
the peak RSS of the process.

    python bench/train.py [--epochs 6] [--size 128]
"""
import argparse, resource, tempfile, time, warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from fastai.callback.core import Callback

from medimg.config import load_config
from medimg.data import targets
from medimg.models import create_model
from medimg.training import train

class Wall(Callback):
    "Wall-clock time between the starts of consecutive epochs, and its parts: training batches, validation, the end-of-epoch work"
    order = -100   # first at every event
    def __init__(self): self.t, self.cpu = {k: [] for k in ('epoch', 'train', 'valid', 'valid_end')}, []
    def before_epoch(self): self.t['epoch'].append(time.perf_counter()); self.cpu.append(time.process_time())
    def before_train(self): self.t['train'].append(time.perf_counter())
    def before_validate(self): self.t['valid'].append(time.perf_counter())
    def after_validate(self): self.t['valid_end'].append(time.perf_counter())
    def seconds(self): return np.diff(self.t['epoch'])[1:]   # epoch 1 (decoding, cache filling) left out; the last has no next start
    def cpu_seconds(self): return np.diff(self.cpu)[1:]      # CPU time of the process (all threads): insensitive to time stolen by the host
    def parts(self)->dict:
        "median seconds of each part over the same epochs"
        t = {k: np.array(v) for k, v in self.t.items()}; n = len(t['epoch']) - 1
        return dict(batches=np.median((t['valid'] - t['train'])[1:n]), validation=np.median((t['valid_end'] - t['valid'])[1:n]),
                    end_of_epoch=np.median((t['epoch'][1:] - t['valid_end'][:-1])[1:n]))

def bare_loop(xtr, ytr, xva, labels, lr, bs, epochs):
    torch.manual_seed(0)
    m = create_model('resnet18', task='binary', labels=labels)
    opt = torch.optim.Adam(m.parameters(), lr=lr)
    steps, times, cpu = len(xtr) // bs, [], []
    for ep in range(epochs - 1):
        t, c = time.perf_counter(), time.process_time(); m.train()
        for idx in torch.randperm(len(xtr))[:steps * bs].split(bs):
            loss = F.binary_cross_entropy_with_logits(m(xtr[idx])[:, 0], ytr[idx]); opt.zero_grad(); loss.backward(); opt.step()
        m.eval()
        with torch.no_grad(): [m(xb) for xb in xva.split(bs)]
        times.append(time.perf_counter() - t); cpu.append(time.process_time() - c)
    return np.array(times[1:]), np.array(cpu[1:])

if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--epochs', type=int, default=6)
    ap.add_argument('--size', type=int, default=128)
    a = ap.parse_args()
    warnings.simplefilter('ignore')
    runs = {'light aug, tracking off': [], 'no aug, tracking off': ['data.aug=none'],
            'no aug, EMA + MLflow tracking': ['data.aug=none', 'train.ema_decay=0.99', 'train.track=true'],
            'no aug, EMA, tracking off': ['data.aug=none', 'train.ema_decay=0.99']}
    with tempfile.TemporaryDirectory() as d:
        base = [f'output_dir={d}', f'train.epochs={a.epochs}', f'data.image_size={a.size}', 'train.track=false']
        first = train(load_config(overrides=base + ['name=warm']), quiet=True)   # the dataset generated, imports warm
        df, pre, bs, lr = first.manifest, first.preprocess, first.config.data.bs, first.config.train.lr
        tr, va = df[df.split == 'train'], df[df.split == 'valid']
        xtr = torch.from_numpy(np.stack([pre(p) for p in tr.path])); ytr = torch.from_numpy(targets(tr))
        xva = torch.from_numpy(np.stack([pre(p) for p in va.path]))
        bare = [bare_loop(xtr, ytr, xva, first.labels, lr, bs, a.epochs)]
        ours = {}
        for i, (name, ov) in enumerate(runs.items()):
            w = Wall()
            train(load_config(overrides=base + ov + [f'name=r{i}']), quiet=True, cbs=[w])
            ours[name] = w
            bare.append(bare_loop(xtr, ytr, xva, first.labels, lr, bs, a.epochs))   # the baseline again: each run sits between two
    b, bc = np.median(np.concatenate([w for w, _ in bare])), np.median(np.concatenate([c for _, c in bare]))
    n = (len(xtr) // bs) * bs + len(xva)
    print(f'{len(xtr)} training / {len(xva)} validation images at {a.size} px, bs {bs}, {torch.get_num_threads()} threads; '
          f'median of epochs 2-{a.epochs - 1}')
    bw = [np.median(w) for w, _ in bare]; bcs = [np.median(c) for _, c in bare]
    print(f"bare loop: {b:.2f} s per epoch (its {len(bare)} runs: {', '.join(f'{x:.2f}' for x in bw)}: "
          f"noise {max(bw) / min(bw) - 1:.1%}); {n / b:.1f} images/s; CPU {bc:.2f} s per epoch")
    for i, (name, w) in enumerate(ours.items()):
        goal = ' (goal <= 1.05)' if 'tracking' in name and 'EMA +' in name else ''
        s, p, c = w.seconds(), w.parts(), np.median(w.cpu_seconds())
        near, nearc = (bw[i] + bw[i + 1]) / 2, (bcs[i] + bcs[i + 1]) / 2   # the bare loops just before and just after this run
        print(f"medimg, {name:<30}: {np.median(s):.2f} s per epoch, ratio {np.median(s) / near:.3f}{goal} (CPU time ratio {c / nearc:.3f}); {n / np.median(s):.1f} images/s; "
              f"batches {p['batches']:.2f} s, validation {p['validation']:.2f} s, end of epoch (metrics, checkpoints, history, tracking) {p['end_of_epoch']:.3f} s")
    print(f'peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB')
