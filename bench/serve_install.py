"""The serving install, measured: a fresh virtual environment with `pip install ".[serve]"` (the Dockerfile's line).

It reports the environment's size and install time, checks that torch, torchvision, fastai, timm, mlflow, scikit-learn,
matplotlib and albumentations are not installed, and that `medimg predict` and `medimg serve` work from it on a bundle
(exported by this script with the full install it runs under, or --bundle DIR): the predictions equal the full install's.
Needs the package index (pip downloads what its cache lacks).

    python bench/serve_install.py [--bundle DIR] [--keep DIR]
"""
import argparse, json, os, shutil, signal, subprocess, sys, tempfile, time
from pathlib import Path

HEAVY = ['torch', 'torchvision', 'fastai', 'timm', 'mlflow', 'sklearn', 'matplotlib', 'albumentations']
ROOT = Path(__file__).resolve().parents[1]


def du_mb(p: Path) -> float:
    return sum(f.stat().st_size for f in p.rglob('*') if f.is_file() and not f.is_symlink()) / 2**20


if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--bundle', help='a bundle folder (default: train one epoch of a small config and export it)')
    ap.add_argument('--keep', help='create the environment here and keep it (default: a temporary folder)')
    a = ap.parse_args()
    work = Path(a.keep) if a.keep else Path(tempfile.mkdtemp())
    env_dir = work/'serve-venv'
    try:
        if a.bundle: bundle = Path(a.bundle)
        else:
            from medimg.config import load_config
            from medimg.export import export_bundle
            from medimg.training import train
            res = train(load_config(overrides=[f'output_dir={work}', 'train.track=false', 'train.epochs=1', 'data.synth_patients=40',
                                               'data.image_size=64', 'calibration.n_bootstrap=100']), quiet=True)
            bundle = export_bundle(res, work/'bundle')
        from medimg.export import Predictor
        from medimg.synth import make_synthetic_dataset
        files = make_synthetic_dataset(work/'files', n_patients=8, seed=3).path.tolist()[:8]
        ref = Predictor.load(bundle).predict(files).prob.tolist()
        t0 = time.perf_counter()
        subprocess.run([sys.executable, '-m', 'venv', str(env_dir)], check=True)
        py, exe = env_dir/'bin'/'python', env_dir/'bin'/'medimg'
        subprocess.run([str(py), '-m', 'pip', 'install', '-q', f'{ROOT}[serve]'], check=True)   # `pip install ".[serve]"` from the clone
        install_s = time.perf_counter() - t0
        size = du_mb(env_dir)
        have = json.loads(subprocess.run([str(py), '-c', f"import importlib.util, json; print(json.dumps([m for m in {HEAVY!r} if importlib.util.find_spec(m)]))"],
                                         capture_output=True, text=True, check=True).stdout)
        imported = json.loads(subprocess.run([str(py), '-c', f"import json, sys, medimg.serve, medimg.export; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"],
                                             capture_output=True, text=True, check=True).stdout)
        # medimg predict from the serving install
        out = work/'pred.csv'
        p = subprocess.run([str(exe), 'predict', '--bundle', str(bundle), *files, '--csv', str(out), '--quiet'], capture_output=True, text=True)
        import pandas as pd
        got = pd.read_csv(out).prob.tolist() if out.exists() else []
        predict_ok = p.returncode == 0 and len(got) == len(ref) and max(abs(x - y) for x, y in zip(got, ref)) <= 1e-6
        # medimg serve from the serving install
        from serve import free_port, start_server   # bench/serve.py, beside this script
        port = free_port()
        srv, _ = start_server([str(exe), 'serve', '--bundle', str(bundle), '--port', str(port), '--log-level', 'warning'], port)
        import httpx
        try:
            r = httpx.post(f'http://127.0.0.1:{port}/v1/predict', files=[('file', (Path(f).name, Path(f).read_bytes())) for f in files], timeout=120)
            served = [x['prob'] for x in r.json()['results']]
            serve_ok = r.status_code == 200 and max(abs(x - y) for x, y in zip(served, ref)) <= 1e-6
            sr = httpx.post(f'http://127.0.0.1:{port}/v1/predict?format=sr', files=[('file', ('a.dcm', Path(files[0]).read_bytes()))], timeout=60)
            sr_ok = sr.status_code == 200 and sr.headers['content-type'] == 'application/dicom'
        finally:
            srv.send_signal(signal.SIGTERM); srv.wait(60)
        top = sorted(((du_mb(p), p.name) for p in (env_dir/'lib').glob('python3*/site-packages/*') if p.is_dir()), reverse=True)[:6]
        print(f"pip install \".[serve]\" into a fresh venv: {install_s:.0f} s, {size:.0f} MB (largest: {', '.join(f'{n} {m:.0f} MB' for m, n in top)})")
        print(f"heavy packages installed: {have or 'none'}; imported by medimg.serve: {imported or 'none'}")
        print(f"medimg predict from it: {'ok' if predict_ok else 'FAILED ' + p.stderr[-500:]} (8 files, equal to the full install's to 1e-6)")
        print(f"medimg serve from it: predict {'ok' if serve_ok else 'FAILED'}, structured report {'ok' if sr_ok else 'FAILED'}")
        sys.exit(0 if not have and not imported and predict_ok and serve_ok and sr_ok else 1)
    finally:
        if not a.keep: shutil.rmtree(work, ignore_errors=True)
