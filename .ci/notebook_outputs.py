"""Check the outputs stored in the notebooks: small enough to read on GitHub, and free of machine paths.

Notebooks keep their figures, tables and short reprs so that they read as illustrated tutorials; this
keeps them from growing into megabytes of stale output or leaking someone's folders. Exit code 1 on a
violation, with one line per problem.

    python .ci/notebook_outputs.py [--budget-kb 350] [--total-kb 3000]
"""
import argparse, json, re, sys
from pathlib import Path

MACHINE_PATH = re.compile(r'(/tmp/|/work/|/root/|/home/[^/\s]+/|/Users/[^/\s]+/|[A-Z]:\\\\Users\\\\|site-packages)')

def output_text(o)->str:
    "The text of one output (images count by size, not content)"
    if o.get('output_type') == 'stream': return ''.join(o.get('text', ''))
    if o.get('output_type') == 'error': return '\n'.join(o.get('traceback', []))
    data = o.get('data', {})
    return '\n'.join(''.join(v) if isinstance(v, list) else str(v) for k, v in data.items() if not k.startswith('image/'))

if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--budget-kb', type=float, default=350, help='largest stored output of one notebook')
    ap.add_argument('--total-kb', type=float, default=3000, help='largest stored output of all notebooks')
    ap.add_argument('nbs', nargs='?', default=str(Path(__file__).resolve().parent.parent/'nbs'))
    a = ap.parse_args()
    problems, total = [], 0.
    print(f"{'notebook':<28}{'cells with output':>18}{'figures':>9}{'output KB':>11}")
    for f in sorted(p for p in Path(a.nbs).rglob('*.ipynb') if not any(s.startswith(('.', '_')) for s in p.relative_to(a.nbs).parts)):
        nb = json.loads(f.read_text())
        outs = [(i, o) for i, c in enumerate(nb['cells']) if c['cell_type'] == 'code' for o in c.get('outputs', [])]
        kb = sum(len(json.dumps(o)) for _, o in outs) / 1024; total += kb
        figs = sum('image/png' in o.get('data', {}) for _, o in outs)
        print(f"{str(f.relative_to(a.nbs)):<28}{len({i for i, _ in outs}):>18}{figs:>9}{kb:>11.1f}")
        if kb > a.budget_kb: problems.append(f'{f.name}: {kb:.0f} KB of stored output (budget {a.budget_kb:.0f} KB)')
        for i, o in outs:
            if o.get('output_type') == 'error': problems.append(f'{f.name}: cell {i} stores an error')
            m = MACHINE_PATH.search(output_text(o))
            if m: problems.append(f'{f.name}: cell {i} output holds a machine path ({m.group(0)!r}...)')
    print(f"{'all notebooks':<28}{'':>18}{'':>9}{total:>11.1f}")
    if total > a.total_kb: problems.append(f'all notebooks: {total:.0f} KB of stored output (budget {a.total_kb:.0f} KB)')
    for p in problems: print('PROBLEM', p)
    sys.exit(1 if problems else 0)
