"""Training overhead of medimg's `train()` against a bare PyTorch loop, in one run.

Both train timm resnet18 from scratch at --size px on the synthetic dataset with the same batch size,
Adam and the same number of steps per epoch. medimg's loop (fastai Learner, cached loader with the
'light' augmentation, clinical metrics, best-checkpoint saving) is timed per epoch by train() (history.seconds);
the bare loop runs on tensors preloaded in memory (no augmentation) and times train + validation
passes itself. Epoch 1 (decoding, cache filling) is left out of both. A second medimg run without
augmentation separates the framework's overhead from the cost of the 'light' augmentation. Goal (training issue): ratio
<= 1.10. Also prints images/s and the peak RSS of the process.

    python bench/train.py [--epochs 3] [--size 128]
"""
import argparse, resource, tempfile, time, warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from medimg.config import load_config
from medimg.data import targets
from medimg.models import create_model
from medimg.training import train

if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--epochs', type=int, default=3)
    ap.add_argument('--size', type=int, default=128)
    a = ap.parse_args()
    warnings.simplefilter('ignore')
    with tempfile.TemporaryDirectory() as d:
        res = train(load_config(overrides=[f'output_dir={d}', f'train.epochs={a.epochs}', f'data.image_size={a.size}',
                                           'train.track=false']), quiet=True)
        ours = float(res.history.seconds[1:].mean())
        noaug = train(load_config(overrides=[f'output_dir={d}', f'train.epochs={a.epochs}', f'data.image_size={a.size}',
                                             'train.track=false', 'data.aug=none', 'name=noaug']), quiet=True)
        ours_noaug = float(noaug.history.seconds[1:].mean())
        df, pre, bs = res.manifest, res.preprocess, res.config.data.bs
        tr, va = df[df.split == 'train'], df[df.split == 'valid']
        xtr = torch.from_numpy(np.stack([pre(p) for p in tr.path])); ytr = torch.from_numpy(targets(tr))
        xva = torch.from_numpy(np.stack([pre(p) for p in va.path]))
    torch.manual_seed(0)
    m = create_model('resnet18', task='binary', labels=res.labels)
    opt = torch.optim.Adam(m.parameters(), lr=res.config.train.lr)
    steps = len(xtr) // bs
    times = []
    for ep in range(a.epochs):
        t = time.perf_counter(); m.train()
        for idx in torch.randperm(len(xtr))[:steps * bs].split(bs):
            loss = F.binary_cross_entropy_with_logits(m(xtr[idx])[:, 0], ytr[idx]); opt.zero_grad(); loss.backward(); opt.step()
        m.eval()
        with torch.no_grad(): [m(xb) for xb in xva.split(bs)]
        times.append(time.perf_counter() - t)
    bare = np.mean(times[1:])
    n = steps * bs + len(xva)
    print(f'{len(xtr)} training / {len(xva)} validation images at {a.size} px, bs {bs}, {torch.get_num_threads()} threads')
    print(f'epoch time: medimg train() {ours:.2f} s | bare loop {bare:.2f} s | ratio {ours/bare:.2f} (goal <= 1.10)')
    print(f'            medimg train() without augmentation (as the bare loop) {ours_noaug:.2f} s | ratio {ours_noaug/bare:.2f}')
    print(f'images/s  : medimg {n/ours:.1f} | bare {n/bare:.1f} | peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024:.0f} MiB')
