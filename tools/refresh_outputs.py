"""Run notebooks and store their outputs (figures, tables, short reprs), so that they read as illustrated tutorials on GitHub.

Runs `nbdev-test --save` (outputs are written back only when a notebook passes), then drops what is not
tutorial content: stderr streams (warnings, MLflow's log lines, progress bars), which also carry machine
paths. Ends with `nbdev-clean` and the output budget check of CI (`.ci/notebook_outputs.py`).

    .venv/bin/python tools/refresh_outputs.py [NOTEBOOK ...]     # default: every notebook, slow cells included
"""
import json, subprocess, sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
bin_ = Path(sys.executable).parent

def strip_stderr(f:Path):
    nb = json.loads(f.read_text())
    for c in nb['cells']:
        if c['cell_type'] == 'code':
            c['outputs'] = [o for o in c.get('outputs', []) if not (o.get('output_type') == 'stream' and o.get('name') == 'stderr')]
    f.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n')

if __name__ == '__main__':
    nbs = [Path(p).resolve() for p in sys.argv[1:]]
    targets = [str(f) for f in nbs] or [str(root/'nbs')]
    for t in targets:   # one notebook at a time: side by side, matplotlib's figures of one notebook leak into the other's cells
        r = subprocess.run([str(bin_/'nbdev-test'), t, '--flags', 'slow', '--save', '--n-workers', '1'], cwd=root)
        if r.returncode: print(f'{t}: some notebooks failed; their outputs are not stored', file=sys.stderr)
    for f in nbs or sorted((root/'nbs').glob('*.ipynb')): strip_stderr(f)
    subprocess.run([str(bin_/'nbdev-clean')], cwd=root, check=True)
    sys.exit(subprocess.run([sys.executable, str(root/'.ci'/'notebook_outputs.py')], cwd=root).returncode)
