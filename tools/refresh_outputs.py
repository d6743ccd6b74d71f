"""Run notebooks and store their outputs (figures, tables, short reprs), so that they read as illustrated tutorials on GitHub.

Runs `nbdev-test --save` on each notebook in its own process (outputs are written back only when a notebook
passes; in one process, pyplot figures a notebook leaves open are shown in another's cells), then drops what
is not tutorial content: stderr streams (warnings, MLflow's log lines, progress bars). Temporary folders, the
repository and site-packages in the remaining text are written as `<tmp>`, `<repo>` and `<site-packages>`.
Ends with `nbdev-clean` and the output budget check of CI (`.ci/notebook_outputs.py`).

    .venv/bin/python tools/refresh_outputs.py [NOTEBOOK ...]     # default: every notebook, slow cells included
"""
import json, re, subprocess, sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
bin_ = Path(sys.executable).parent

PLACES = [(re.compile(r'/\S*?/site-packages'), '<site-packages>'), (re.compile(r'(/private)?/tmp/tmp[\w-]+'), '<tmp>'),
          (re.compile(re.escape(str(root))), '<repo>')]

def _plain(text):
    "Machine-specific folders in `text` (a str or nbformat's list of lines) replaced by placeholders"
    if isinstance(text, list): return [_plain(t) for t in text]
    for pat, to in PLACES: text = pat.sub(to, text)
    return text

def tidy(f:Path):
    "Drop stderr streams; placeholders for machine folders in text outputs"
    nb = json.loads(f.read_text())
    for c in nb['cells']:
        if c['cell_type'] != 'code': continue
        c['outputs'] = [o for o in c.get('outputs', []) if not (o.get('output_type') == 'stream' and o.get('name') == 'stderr')]
        for o in c['outputs']:
            if 'text' in o: o['text'] = _plain(o['text'])
            for k in [k for k in o.get('data', {}) if k.startswith('text/')]: o['data'][k] = _plain(o['data'][k])
    f.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n')

if __name__ == '__main__':
    nbs = [Path(p).resolve() for p in sys.argv[1:]] or sorted(p for p in (root/'nbs').rglob('*.ipynb') if not any(s.startswith(('.', '_')) for s in p.relative_to(root/'nbs').parts))
    for f in nbs:
        r = subprocess.run([str(bin_/'nbdev-test'), str(f), '--flags', 'slow', '--save'], cwd=root)
        if r.returncode: print(f'{f.name}: failed; its outputs are not stored', file=sys.stderr)
        tidy(f)
    subprocess.run([str(bin_/'nbdev-clean')], cwd=root, check=True)
    sys.exit(subprocess.run([sys.executable, str(root/'.ci'/'notebook_outputs.py')], cwd=root).returncode)
