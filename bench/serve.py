"""Load and fault test of `medimg serve` on loopback, against `Predictor` on the same files in the same run.

A bundle of the synthetic set (the demo's resnet18 at 128 px, trained for one epoch: the numbers are about the service,
not the model; or --bundle DIR) is served by `medimg serve` in a subprocess on a free 127.0.0.1 port. Then
- the baseline: `Predictor.predict` on the same DICOM files at batch 32 (throughput) and one file per call (latency);
- load: 1, 8 and 32 concurrent clients (httpx, asyncio) each posting one DICOM per request, a fixed number of requests;
- faults: 32 clients again while a share of the requests are malformed (a truncated DICOM, a file over the size limit,
  a JSON body): every good request must be answered with Predictor's probability, every bad one with its 4xx;
- the server's peak RSS (its process and its decoder processes, from /proc).
Goals (serving issue, 2 cores): zero errors; throughput at 32 clients >= 0.8x Predictor at batch 32; p95 at 1 client
<= 2x Predictor's batch-1 latency. Clients and server share the machine's cores, as they would on a small node.

    python bench/serve.py [--bundle DIR] [--requests 96] [--bad-share 0.25]
"""
import argparse, asyncio, json, os, random, signal, socket, subprocess, sys, tempfile, time, warnings
from pathlib import Path

import numpy as np


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


def tree_peak_rss_mb(pid: int) -> float:
    "Sum of VmHWM (peak resident set) over a process and its children, from /proc"
    def kids(p):
        try: return [int(c) for t in os.listdir(f'/proc/{p}/task') for c in open(f'/proc/{p}/task/{t}/children').read().split()]
        except OSError: return []
    todo, total = [pid], 0
    while todo:
        p = todo.pop(); todo += kids(p)
        try: total += next(int(l.split()[1]) for l in open(f'/proc/{p}/status') if l.startswith('VmHWM'))
        except (OSError, StopIteration): pass
    return total / 1024


async def load(url: str, jobs: list, clients: int) -> tuple:
    "Run `jobs` (kind, payload) from `clients` concurrent clients; (per-request (kind, status, prob, seconds), wall seconds)"
    import httpx
    queue, out = list(enumerate(jobs)), [None] * len(jobs)
    async def client():
        async with httpx.AsyncClient(timeout=120) as c:
            while queue:
                i, (kind, name, data, want) = queue.pop(0)
                t = time.perf_counter()
                if kind == 'json': r = await c.post(f'{url}/v1/predict', json={'file': 'x'})
                else: r = await c.post(f'{url}/v1/predict', files=[('file', (name, data, 'application/dicom'))])
                dt = time.perf_counter() - t
                prob = r.json()['results'][0]['prob'] if r.status_code == 200 else None
                out[i] = (kind, r.status_code, prob, dt, want)
    t0 = time.perf_counter()
    await asyncio.gather(*[client() for _ in range(clients)])
    return out, time.perf_counter() - t0


def summary(rows: list, wall: float) -> dict:
    lat = np.array([r[3] for r in rows if r[0] == 'good'])
    return dict(n=len(rows), rps=len(rows) / wall, good_ips=len(lat) / wall, p50=np.percentile(lat, 50) * 1e3, p95=np.percentile(lat, 95) * 1e3,
                p99=np.percentile(lat, 99) * 1e3)


if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--bundle', help='a bundle folder (default: train one epoch of the demo config and export it)')
    ap.add_argument('--requests', type=int, default=96, help='requests per load level (default: 96)')
    ap.add_argument('--bad-share', type=float, default=0.25, help='share of malformed requests in the fault phase (default: 0.25)')
    a = ap.parse_args()
    warnings.simplefilter('ignore')
    from medimg.export import Predictor
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        if a.bundle: bundle = Path(a.bundle)
        else:
            from medimg.config import load_config
            from medimg.export import export_bundle
            from medimg.training import train
            res = train(load_config(overrides=[f'output_dir={d}', 'train.track=false', 'train.epochs=1', 'calibration.n_bootstrap=100']), quiet=True)
            bundle = export_bundle(res, d/'bundle')
        from medimg.synth import make_synthetic_dataset
        files = make_synthetic_dataset(d/'files', n_patients=24, seed=7).path.tolist()[:32]
        pred = Predictor.load(bundle)
        ref = dict(zip(files, pred.predict(files).prob.to_numpy()))
        # the baseline, in this process while the server is not running
        t = time.perf_counter(); reps = 3
        for _ in range(reps): pred.predict(files, bs=32)
        base_ips = reps * len(files) / (time.perf_counter() - t)
        one = []
        for f in files * 2:
            t = time.perf_counter(); pred.predict([f], bs=1); one.append(time.perf_counter() - t)
        base_p50, base_p95 = np.percentile(one, 50) * 1e3, np.percentile(one, 95) * 1e3
        del pred
        port, max_mb = free_port(), 1.0
        srv = subprocess.Popen([sys.executable, '-m', 'medimg', 'serve', '--bundle', str(bundle), '--port', str(port), '--max-file-mb', str(max_mb),
                                '--log-level', 'warning'], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        url = f'http://127.0.0.1:{port}'
        import httpx
        t0 = time.perf_counter()
        while True:
            try:
                if httpx.get(f'{url}/readyz', timeout=1).status_code == 200: break
            except httpx.TransportError: pass
            if srv.poll() is not None: sys.exit(f"the server ended: {srv.stderr.read()[-2000:]}")
            time.sleep(0.1)
        start_s = time.perf_counter() - t0
        blobs = {f: Path(f).read_bytes() for f in files}
        good = lambda i: ('good', Path(files[i % len(files)]).name, blobs[files[i % len(files)]], ref[files[i % len(files)]])
        results, errors = {}, 0
        for clients in (1, 8, 32):
            jobs = [good(i) for i in range(a.requests if clients > 1 else a.requests // 2)]
            asyncio.run(load(url, jobs[:clients], clients))   # warm the connections and the path
            rows, wall = asyncio.run(load(url, jobs, clients))
            bad = [r for r in rows if r[1] != 200 or abs(r[2] - r[4]) > 1e-6]
            errors += len(bad)
            results[clients] = summary(rows, wall) | dict(errors=len(bad))
        # faults: malformed requests mixed into the load
        rng = random.Random(0)
        kinds = {'truncated': (lambda b: b[:700], 422), 'oversized': (lambda b: os.urandom(int(max_mb * 2**20) + 4096), 413), 'json': (None, 415)}
        jobs = []
        for i in range(2 * a.requests):
            if rng.random() < a.bad_share:
                k = rng.choice(list(kinds)); f, st = kinds[k]
                jobs.append(('json', None, None, st) if k == 'json' else (k, 'bad.dcm', f(blobs[files[i % len(files)]]), st))
            else: jobs.append(good(i))
        rows, wall = asyncio.run(load(url, jobs, 32))
        wrong = [r for r in rows if (r[0] == 'good' and (r[1] != 200 or abs(r[2] - r[4]) > 1e-6)) or (r[0] != 'good' and r[1] != r[4])]
        fault = summary(rows, wall) | dict(bad=sum(r[0] != 'good' for r in rows), wrong=len(wrong))
        alive = httpx.get(f'{url}/readyz').status_code == 200
        peak = tree_peak_rss_mb(srv.pid)
        metrics = httpx.get(f'{url}/metrics').text
        srv.send_signal(signal.SIGTERM); srv.wait(60)
    calls = sum(float(l.split()[-1]) for l in metrics.splitlines() if l.startswith('medimg_batch_size_count'))
    images = sum(float(l.split()[-1]) for l in metrics.splitlines() if l.startswith('medimg_batch_size_sum'))
    print(f"CPU cores {len(os.sched_getaffinity(0))}; bundle {bundle.name}; {len(files)} synthetic DICOMs; server ready {start_s:.1f} s after start")
    print(f"Predictor baseline: batch 32 {base_ips:.1f} images/s; batch 1 p50 {base_p50:.1f} ms, p95 {base_p95:.1f} ms")
    print(f"{'clients':>8}{'requests':>10}{'img/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for c, r in results.items():
        print(f"{c:>8}{r['n']:>10}{r['good_ips']:>9.1f}{r['p50']:>9.1f}{r['p95']:>9.1f}{r['p99']:>9.1f}{r['errors']:>8}")
    print(f"faults (32 clients, {fault['bad']} of {fault['n']} requests malformed): {fault['good_ips']:.1f} good img/s, p95 {fault['p95']:.1f} ms, "
          f"{fault['wrong']} answered wrongly; still ready: {alive}")
    print(f"model calls {int(calls)} for {int(images)} images (mean batch {images / max(calls, 1):.1f}); server peak RSS (with decoders) {peak:.0f} MB")
    r32, r1 = results[32]['good_ips'] / base_ips, results[1]['p95'] / base_p50
    print(f"throughput at 32 clients / Predictor at batch 32: {r32:.2f} (goal >= 0.8); p95 at 1 client / Predictor batch-1 p50: {r1:.2f} (goal <= 2); "
          f"errors {errors + fault['wrong']} (goal 0)")
