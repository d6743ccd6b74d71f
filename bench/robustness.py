"""Robustness of the demo model: adversarial curves, corruption curves and the OOD defences, measured.

Trains the demo recipe (120 synthetic patients, 128 px, resnet18 from scratch, 25 epochs; or takes --run),
exports its bundle, and runs `medimg.robustness.robustness` on the test split: PGD L-inf and FGSM against epsilon,
every corruption at severities 1-5, and the OOD report on pydicom's and pydicom-data's pixel files plus generated
noise, pictures and degenerate images. Baselines in the same run: the clean test metrics (each curve's ratio is
against them) and, for the OOD scores, the in-distribution test images.
Goals (robustness issue): the best OOD score's AUROC >= 0.95; >= 99% of the non-radiograph files flagged by the
score or an input check.

    python bench/robustness.py [--run DIR] [--out DIR] [OVERRIDE ...]
    python bench/robustness.py --tradeoff [--run DIR] [--epochs 8] [--eps 0.00392]

OVERRIDEs are dotted config overrides of the trained run, e.g. `train.adversarial=pgd train.adv_eps=0.00392`.
--tradeoff measures the clean-versus-robust trade-off of adversarial training: from the clean run's best checkpoint
(`model.pretrained=`; the head is re-initialised), four fine-tunes of --epochs each at lr 1e-3 with the same seed:
plain (the baseline: as many more epochs without attacks), PGD-AT and TRADES (beta 2 and 6) at L-inf --eps with 3
PGD steps, each evaluated by PGD-10 at 0, 0.5, 1 and 2 grey levels, with training seconds.
"""
import argparse, json, tempfile, time, warnings
from pathlib import Path

if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--run', help='a finished run folder (default: train the demo recipe)')
    ap.add_argument('--out', help='keep the run here (default: a temporary folder)')
    ap.add_argument('--tradeoff', action='store_true', help='clean vs adversarial fine-tuning from the clean run')
    ap.add_argument('--epochs', type=int, default=8, help='--tradeoff: epochs of each fine-tune')
    ap.add_argument('--eps', type=float, default=1 / 255, help='--tradeoff: the training budget in [0, 1] units')
    ap.add_argument('overrides', nargs='*', help='dotted config overrides of the trained run')
    a = ap.parse_args()
    warnings.simplefilter('ignore')
    from medimg.config import load_config
    from medimg.robustness import robustness, robustness_report
    from medimg.training import train
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        run = a.run or train(load_config(overrides=[f'output_dir={a.out or d}', 'name=robust', 'train.track=false'] + a.overrides), quiet=True)
        t_train = time.perf_counter() - t0
        if a.tradeoff:
            from medimg.calibration import load_run
            from medimg.run import CHECKPOINTS_DIR, SUMMARY_FILE
            run = load_run(getattr(run, 'run_dir', run))
            best = run.run_dir/CHECKPOINTS_DIR/json.loads((run.run_dir/SUMMARY_FILE).read_text())['best_checkpoint']
            eps = (0., 0.5 / 255, 1 / 255, 2 / 255)
            def curve(r): return robustness_report(r, eps=eps, n_boot=200).table
            rows = [('clean run', t_train, curve(run))]
            adv = [f'train.adv_eps={a.eps}', 'train.adv_steps=3']
            for name, ov in (('+ plain fine-tune', []), ('+ PGD-AT', ['train.adversarial=pgd'] + adv),
                             ('+ TRADES beta 2', ['train.adversarial=trades', 'train.trades_beta=2'] + adv),
                             ('+ TRADES beta 6', ['train.adversarial=trades', 'train.trades_beta=6'] + adv)):
                t0 = time.perf_counter()
                r = train(load_config(overrides=[f'output_dir={a.out or d}', 'name=ft', 'train.track=false', f'model.pretrained={best}',
                                                 f'train.epochs={a.epochs}', 'train.lr=1e-3'] + ov + a.overrides), quiet=True)
                rows.append((name, time.perf_counter() - t0, curve(r)))
            print(f"PGD-10 L-inf ROC-AUC on {len(run.manifest[run.manifest.split == 'test'])} test images; fine-tunes of {a.epochs} epochs from "
                  f"{best.name}, training budget {a.eps * 255:g}/255")
            print(f"{'model':<20}{'train s':>8}" + ''.join(f"{f'{e * 255:g}/255':>9}" for e in eps) + f"{'sens@1/255':>12}{'x plain s':>10}")
            base = rows[1][1]
            for name, t, tb in rows:
                print(f"{name:<20}{t:>8.0f}" + ''.join(f"{v:>9.3f}" for v in tb.roc_auc) + f"{tb.sensitivity[2]:>12.2f}{t / base:>10.2f}")
            raise SystemExit
        t0 = time.perf_counter()
        r = robustness(run)
        t_rob = time.perf_counter() - t0
        fg = robustness_report(run, method='fgsm')
        l2 = robustness_report(run, norm='l2', eps=(0., 0.25, 0.5, 1.))
        adv, cor, ood = r['adversarial'], r['corruption'], r['ood']
        print(f"overrides {a.overrides}: train {t_train:.0f} s, robustness reports {t_rob:.0f} s; test images {adv.meta['images']}")
        for name, rep in (('PGD-10 L-inf', adv), ('FGSM L-inf', fg)):
            t = rep.table
            print(f"{name}: " + ', '.join(f"eps {e:g}/255 AUC {v:.3f} (ratio to clean {v / t.roc_auc[0]:.2f}), sens {s:.2f}, ECE {c:.3f}"
                                         for e, v, s, c in zip(t.eps_255, t.roc_auc, t.sensitivity, t.ece)))
        t = l2.table
        print('PGD-10 L2: ' + ', '.join(f"eps {e:g} AUC {v:.3f}" for e, v in zip(t.eps, t.roc_auc)))
        m = cor.meta
        print(f"corruptions: clean AUC {m['clean']['roc_auc']:.3f}; mean relative AUC drop " +
              ', '.join(f"{k} {v:.3f}" for k, v in m['mean_relative_auc_drop'].items()) + f"; overall {m['overall_mean_relative_auc_drop']:.3f}")
        sev5 = cor.table[cor.table.severity == 5]
        print('severity 5 AUC: ' + ', '.join(f"{c} {v:.3f}" for c, v in zip(sev5.corruption, sev5.roc_auc)))
        o = ood
        print('OOD AUROC (all files / non-radiographs): ' + ', '.join(f"{k} {v['all']:.3f}/{v['non_radiograph']:.3f}" for k, v in o['auroc'].items()))
        print(f"OOD files {o['ood']['files']} ({o['ood']['non_radiograph']} non-radiograph, {o['ood']['unreadable']} unreadable): caught "
              f"{o['ood']['caught_non_radiograph']:.1%} of non-radiographs ({o['ood']['caught_by_score_non_radiograph']:.1%} by the {o['score']} score alone), "
              f"radiographs {o['ood']['caught_radiograph']:.1%}; test images flagged {o['in_distribution']['flagged']:.1%} "
              f"(score {o['in_distribution']['flagged_by_score']:.1%}, checks {o['in_distribution']['flagged_by_check']:.1%})")
        print('warnings on OOD files: ' + ', '.join(f"{k} {v}" for k, v in o['ood']['warnings'].items()))
        best = max(v['all'] for v in o['auroc'].values())
        ok = best >= 0.95 and o['ood']['caught_non_radiograph'] >= 0.99
        print(f"goals: best AUROC {best:.3f} (>= 0.95), non-radiographs caught {o['ood']['caught_non_radiograph']:.1%} (>= 99%): {'met' if ok else 'NOT met'}")
        print(f"report: {r['dest']}")
