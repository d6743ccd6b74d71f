"""Reading speed of medimg.io against bare pydicom, measured in the same run.

For N synthetic 512x512 12-bit DICOM files (06_synth):
  - pixels: `read_dicom(path)` (modality LUT + the file's window + MONOCHROME1 inversion, float32 in [0, 1])
    vs bare `pydicom.dcmread(path).pixel_array` + `apply_modality_lut` + `apply_voi_lut`. Goal: time ratio <= 1.2.
  - headers: `dicom_headers(paths)` with 1 and 2 workers vs a bare loop of `pydicom.dcmread(path, stop_before_pixels=True)`.
    Goal: >= 0.9x the bare speed with one worker and >= 1.7x with two (on two cores).
Each timing is the best of --repeats runs, so that a busy moment of the machine does not count.

    python bench/io.py [--n 200] [--repeats 5]
"""
import argparse, os, tempfile, time, warnings
from pathlib import Path

import pydicom
from pydicom.pixels import apply_modality_lut, apply_voi_lut

from medimg.io import _value, dicom_headers, read_dicom
from medimg.synth import make_synthetic_dataset

def best(f, repeats):
    ts = []
    for _ in range(repeats):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return min(ts)

def bare_pixels(paths):
    for p in paths:
        ds = pydicom.dcmread(p)
        apply_voi_lut(apply_modality_lut(ds.pixel_array, ds), ds)

def bare_headers(paths):
    for p in paths: pydicom.dcmread(p, stop_before_pixels=True)

if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--n', type=int, default=200)
    ap.add_argument('--repeats', type=int, default=5)
    a = ap.parse_args()
    warnings.simplefilter('ignore')
    with tempfile.TemporaryDirectory() as d:
        df = make_synthetic_dataset(Path(d), n_patients=a.n // 2 + 10, images_per_patient=(2, 2), size=512, seed=0)
        paths = list(df.path[:a.n])
        n = len(paths)
        print(f'{n} files of 512x512, 12 bits stored, {os.cpu_count()} CPUs')
        t_bare = best(lambda: bare_pixels(paths), a.repeats)
        t_ours = best(lambda: [read_dicom(p) for p in paths], a.repeats)
        print(f'pixels : bare pydicom {n/t_bare:7.0f} files/s | read_dicom {n/t_ours:7.0f} files/s | '
              f'time ratio {t_ours/t_bare:.2f} (goal <= 1.2)')
        h_bare = best(lambda: bare_headers(paths), a.repeats)
        for w, goal in ((1, 0.9), (2, 1.7)):
            # a cold value cache each time: a real scan never sees the same files twice (the cache still helps with repeated values)
            h = best(lambda: (_value.cache_clear(), dicom_headers(paths, n_workers=w, salt='bench')), a.repeats)
            print(f'headers: bare pydicom {n/h_bare:7.0f} files/s | dicom_headers x{w} {n/h:7.0f} files/s | '
                  f'speed {h_bare/h:.2f}x bare (goal >= {goal})')
