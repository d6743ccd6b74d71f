"""Occlusion coarse to fine (`refine`) against the exhaustive map, on a finished run's lesions, in one run.

For the trained model and its randomised copy (the sanity check), on the lesion images of one split (default:
validation, where the demo's `refine` was chosen), it runs occlusion with every position (the baseline) and with each
`refine`, and prints the share of positions measured, the time ratio against the exhaustive map, the images whose
pointing-game result differs, the energy and IoU against the exhaustive ones, and the maps' mean and largest
absolute difference. Without --run it trains the demo config first (a few minutes).

    python bench/occlusion.py [--run runs/demo-...] [--split valid] [--refine 0.05 0.1 0.2]
"""
import argparse, tempfile, time, warnings

import numpy as np
import torch

from medimg.config import load_config
from PIL import Image

from medimg.explain import (cam_iou, cam_to_original, energy_pointing_game, occlusion, occlusion_patch,
                            pointing_game, randomized_copy)
from medimg.run import load_run, model_inputs
from medimg.training import train

def scores(run, maps, masks)->np.ndarray:
    "pointing game, energy and IoU per image, on the original grid"
    out = []
    for m, mk in zip(maps, masks):
        co = cam_to_original(m, run.preprocess, *mk.shape)
        out.append((pointing_game(co, mk), energy_pointing_game(co, mk), cam_iou(co, mk)))
    return np.array(out, float)

def n_positions(x, patch=None, stride=None)->int:
    "occlusion's positions per image at its default patch and stride"
    patch = patch or occlusion_patch(x.shape[-1]); stride = stride or max(1, patch // 2)
    return len(range(0, x.shape[-2] - patch + 1, stride)) * len(range(0, x.shape[-1] - patch + 1, stride))

def measured_share(model, x, refine)->tuple:
    "occluded copies the model saw, over every position's"
    seen = []
    h = model.register_forward_hook(lambda m, i, o: seen.append(len(i[0])))   # copied with the model into occlusion's channels-last copy
    try: maps = occlusion(model, x, target=1, refine=refine)
    finally: h.remove()
    return maps, (sum(seen) - len(x)) / (len(x) * n_positions(x))

if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--run', help='a finished run folder with lesion masks (default: train the demo config into a temporary folder)')
    ap.add_argument('--split', default='valid')
    ap.add_argument('--refine', type=float, nargs='+', default=[0.05, 0.1, 0.2])
    a = ap.parse_args()
    warnings.simplefilter('ignore')
    with tempfile.TemporaryDirectory() as d:
        run = load_run(a.run or train(load_config(overrides=[f'output_dir={d}', 'name=demo']), quiet=True).run_dir)
        man = run.manifest
        rows = man[(man.split == a.split) & man.mask_path.notna()]
        x, masks = model_inputs(run.preprocess, rows.path), [np.asarray(Image.open(p)) > 0 for p in rows.mask_path]
        print(f'{len(rows)} {a.split} lesion images at {x.shape[-1]} px, {n_positions(x)} positions each, {torch.get_num_threads()} threads')
        for name, model in (('trained', run.model), ('randomised', randomized_copy(run.model, 0))):
            t = time.perf_counter(); full = occlusion(model, x, target=1); tf = time.perf_counter() - t
            sf = scores(run, full, masks)
            print(f'{name}: every position {tf:.1f} s; pointing game {sf[:, 0].mean():.3f}, energy {sf[:, 1].mean():.3f}, IoU {sf[:, 2].mean():.3f}')
            for r in a.refine:
                t = time.perf_counter(); m, share = measured_share(model, x, r); tr = time.perf_counter() - t
                s = scores(run, m, masks)
                print(f'  refine {r:g}: {share:.0%} of the positions, time ratio {tr / tf:.2f} ({tf / tr:.1f}x faster); pointing game differs on '
                      f'{int((s[:, 0] != sf[:, 0]).sum())} of {len(s)} images ({s[:, 0].mean():.3f}); energy {s[:, 1].mean():.3f}, IoU {s[:, 2].mean():.3f}; '
                      f'map difference mean {np.abs(m - full).mean():.4f}, largest {np.abs(m - full).max():.3f}')
