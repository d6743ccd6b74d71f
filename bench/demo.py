"""The full `medimg demo` in one run: wall time per stage, and its goals checked.

The demo (120 synthetic patients, 128 px, resnet18 from scratch, 25 epochs, then calibration, occlusion
explanations, export and the bundle's predictions) is a whole pipeline, so it is measured here and not in a
test cell (the notebooks test each stage on the smallest run that proves it, and `28_pipeline` the fast demo).
Baseline in the same run: the training stage, so the ratio says what the stages after training cost.
Goals (performance issue): whole demo <= 4 min on 2 cores, test ROC-AUC >= 0.95, occlusion pointing game >= 0.8,
randomised model near chance, bundle predictions equal to the evaluation's.

    python bench/demo.py [--out DIR]
"""
import argparse, json, resource, tempfile, time, warnings

from medimg.pipeline import demo

if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', help='keep the run here (default: a temporary folder)')
    a = ap.parse_args()
    warnings.simplefilter('ignore')
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        r = demo(a.out or d, quiet=True)
        total = time.perf_counter() - t0
        s, loc, ev = json.loads((r.run_dir/'summary.json').read_text()), r.localization, r.evaluation
    secs = r.seconds
    print('stage seconds: ' + ', '.join(f'{k} {v:.1f}' for k, v in secs.items()) + f' | total {total:.1f} s ({total/60:.2f} min)')
    print(f"ratio total / training stage {total/secs['train']:.2f}; total / goal (240 s) {total/240:.2f}")
    print(f"test ROC-AUC {s['test']['roc_auc']:.3f} (goal >= 0.95; validation {s['valid']['roc_auc']:.3f}, best epoch {s['best_epoch']})")
    b, c = ev.before, ev.after
    print(f"test ECE {b['ece']['estimate']:.3f} -> {c['ece']['estimate']:.3f}, Brier {b['brier']['estimate']:.3f} -> {c['brier']['estimate']:.3f} "
          f"(calibrator {ev.calibrator.method}); at the validation-chosen threshold sensitivity {c['sensitivity']['estimate']:.3f}, "
          f"specificity {c['specificity']['estimate']:.3f}")
    print(f"occlusion pointing game {loc['pointing_game']:.2f} on {loc['images']} test lesions (goal >= 0.8; randomised model "
          f"{loc['pointing_game_random_model']:.2f}, chance {loc['chance']:.3f}); lesion removed: mean probability {loc['prob']:.2f} -> "
          f"{loc['prob_lesion_removed']:.2f}, same shape elsewhere {loc['prob_control_removed']:.2f}")
    keys = ('pointing_game', 'pointing_game_random_model', 'chance', 'energy', 'iou', 'spearman_trained_vs_random', 'deletion_auc_cam', 'deletion_auc_random')
    g = loc.get('compared', {}).get('gradcam', {})
    print(f"{'localisation':<28}{'occlusion':>10}{'Grad-CAM':>10}")
    for k in keys: print(f"{k:<28}{loc[k]:>10.3f}{g.get(k, loc[k] if k == 'chance' else float('nan')):>10.3f}")
    if r.export: print(f"bundle vs evaluation: max |difference| {r.export['max_abs_diff']:.1g} over {r.export['images']} test files, {r.export['errors']} errors")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024:.0f} MiB")
    ok = total <= 240 and s['test']['roc_auc'] >= 0.95 and loc['pointing_game'] >= 0.8 and (not r.export or r.export['max_abs_diff'] <= 1e-4)
    print('goals: ' + ('met' if ok else 'NOT met'))
