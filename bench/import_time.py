"""Import cost of medimg, in a fresh interpreter each time.

Prints the median wall time of `import medimg` (and of importing every medimg module) next to the
median time of a baseline import measured in the same run (`import numpy`, which every medimg
module needs anyway), and their ratio. Goal (foundation issue): `import medimg` under 1.5 s.
"""
import statistics, subprocess, sys

def _time(stmt, n=7):
    code = f"import time; t=time.perf_counter(); {stmt}; print(time.perf_counter()-t)"
    return statistics.median(float(subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                                                  check=True).stdout) for _ in range(n))

all_mods = ("import medimg, pkgutil, importlib; [importlib.import_module(m.name) for m in "
            "pkgutil.iter_modules(medimg.__path__, 'medimg.') if not m.name.startswith('medimg._')]")
base = _time('import numpy')
for name, stmt in [('import medimg', 'import medimg'), ('import medimg.cli', 'import medimg.cli'),
                   ('all medimg modules', all_mods)]:
    t = _time(stmt)
    print(f'{name:<20} {t*1000:8.1f} ms   {t/base:6.2f}x numpy ({base*1000:.1f} ms)   goal < 1500 ms: {"ok" if t < 1.5 else "MISSED"}')
