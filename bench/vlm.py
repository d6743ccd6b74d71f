"""CLIP on the synthetic chest set: zero-shot, linear probe and LoRA against the resnet18 baseline, in one run.

The CLIP is `medimg.vlm.synthetic_clip`: a tiny ViT CLIP (--width, two layers) pretrained contrastively on captioned
synthetic radiographs of other patients (seed 1, --clip-patients, --clip-epochs), the stand-in for a downloaded biomedical CLIP. Every model then uses the
same split of the same synthetic set (seed 42, --patients), the same input size and the same epochs through `train()`:
  - zero-shot: the prompts of `clip.templates` are the classifier, nothing trains (no epochs);
  - linear probe: a linear head on the frozen image features, started from the zero-shot weights;
  - LoRA: rank-8 adapters on the image encoder's q/v projections, classification + multi-positive contrastive loss;
  - resnet18 from scratch (small-input stem), the classifier medimg's demo trains.
Prints, per model, trainable parameters, seconds per epoch (median, first epoch left out), test ROC-AUC and the test ECE of
the raw and the calibrated (`evaluate`, fitted on validation) probabilities; and the ratio of each model's AUC and seconds
per epoch to the resnet18 baseline of the same run.

    python bench/vlm.py [--patients 300] [--size 64] [--epochs 10] [--clip-patients 300] [--clip-epochs 40]
                        [--probe-lr 0.1] [--lora-lr 0.01] [--models zero_shot,probe,lora,resnet18] [--shots K]
"""
import argparse, tempfile, time, warnings
from pathlib import Path

import numpy as np

from medimg.calibration import evaluate
from medimg.config import load_config
from medimg.training import train
from medimg.models import trainable_parameters
from medimg.vlm import synthetic_clip

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--patients', type=int, default=300); ap.add_argument('--size', type=int, default=64)
    ap.add_argument('--epochs', type=int, default=10); ap.add_argument('--width', type=int, default=64)
    ap.add_argument('--clip-patients', type=int, default=300); ap.add_argument('--clip-epochs', type=int, default=40)
    ap.add_argument('--probe-lr', type=float, default=1e-1); ap.add_argument('--lora-lr', type=float, default=1e-2)
    ap.add_argument('--models', default='zero_shot,probe,lora,resnet18', help='comma-separated subset (ratios need resnet18)')
    ap.add_argument('--shots', type=int, default=None, help='few-shot: training images per class for every model (data.shots); default: all')
    a = ap.parse_args()
    warnings.simplefilter('ignore')
    tmp = Path(tempfile.mkdtemp())
    t = time.perf_counter()
    clip = synthetic_clip(tmp/'clip', n_patients=a.clip_patients, epochs=a.clip_epochs, image_size=a.size, width=a.width, projection_dim=32)
    print(f"synthetic CLIP pretrained in {time.perf_counter() - t:.0f} s")
    base = [f'output_dir={tmp}', f'data.synth_patients={a.patients}', f'data.image_size={a.size}', f'train.epochs={a.epochs}',
            'train.track=false', 'calibration.n_bootstrap=200'] + ([f'data.shots={a.shots}'] if a.shots else [])
    clipo = ['model.family=clip', f'model.pretrained={clip}', 'clip.class_text={no_finding: clear lungs, nodule: a lung nodule}']
    runs = dict(zero_shot=clipo + ['clip.tune=zero_shot'], probe=clipo + ['clip.tune=probe', f'train.lr={a.probe_lr}'],
                lora=clipo + ['clip.tune=lora', f'train.lr={a.lora_lr}'], resnet18=['model.small_input=true'])
    rows = {}
    for name, o in [(n, runs[n]) for n in a.models.split(',')]:
        t = time.perf_counter()
        res = train(load_config(overrides=base + o + [f'name={name}']), quiet=True)
        wall = time.perf_counter() - t
        rep = evaluate(res, log=False)
        sec = res.history.seconds.iloc[1:].median() if len(res.history) > 1 else float('nan')
        rows[name] = dict(trainable=trainable_parameters(res.learn.model)['trainable'], sec_per_epoch=sec, wall_s=wall,
                          auc=rep.before['roc_auc']['estimate'], ece_raw=rep.before['ece']['estimate'], ece_cal=rep.after['ece']['estimate'])
    b = rows.get('resnet18', dict(auc=float('nan'), sec_per_epoch=float('nan')))
    print(f"\n{'model':<10} {'trainable':>10} {'s/epoch':>8} {'wall s':>7} {'test AUC':>9} {'ECE raw':>8} {'ECE cal':>8} {'AUC/base':>9} {'time/base':>10}")
    for n, r in rows.items():
        print(f"{n:<10} {r['trainable']:>10,} {r['sec_per_epoch']:>8.2f} {r['wall_s']:>7.0f} {r['auc']:>9.3f} {r['ece_raw']:>8.3f} {r['ece_cal']:>8.3f} "
              f"{r['auc'] / b['auc']:>9.3f} {r['sec_per_epoch'] / b['sec_per_epoch']:>10.2f}")

if __name__ == '__main__': main()
