"""Load and fault test of `medimg serve` on loopback, against `Predictor` on the same files in the same run.

A bundle of the synthetic set (the demo's resnet18 at 128 px, trained for one epoch: the numbers are about the service,
not the model; or --bundle DIR) is served by `medimg serve` in a subprocess on a free 127.0.0.1 port. Then
- the baseline: `Predictor.predict` on the same DICOM files at batch 32 (throughput) and one file per call (latency);
- load: 1, 8 and 32 concurrent clients (keep-alive connections, raw asyncio streams) each posting one DICOM per request, a fixed number of requests;
- faults: 32 clients again while a share of the requests are malformed (a truncated DICOM, a file over the size limit,
  a JSON body, DICOMs whose JPEG or JPEG 2000 stream declares 20000 x 20000 pixels under a 64 x 64 header) and 64 slow
  clients hold connections open with half a request header: every good request must be answered with Predictor's
  probability, every bad one with its 4xx;
- the server's peak RSS (its process and its decoder processes, from /proc).
Goals (serving issue, 2 cores): zero errors; throughput at 32 clients >= 0.8x Predictor at batch 32; p95 at 1 client
<= 2x Predictor's batch-1 latency. Clients and server share the machine's cores, as they would on a small node.

    python bench/serve.py [--bundle DIR] [--requests 192] [--bad-share 0.25]
"""
import argparse, asyncio, json, os, random, signal, socket, subprocess, sys, tempfile, time, warnings
from pathlib import Path

import numpy as np


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


def start_server(cmd: list, port: int) -> tuple:
    "Start `medimg serve` (the command `cmd`, listening on `port`) and wait until /readyz answers 200; (process, seconds to ready)"
    import httpx
    srv, t0 = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True), time.perf_counter()
    while True:
        try:
            if httpx.get(f'http://127.0.0.1:{port}/readyz', timeout=1).status_code == 200: return srv, time.perf_counter() - t0
        except httpx.TransportError: pass
        if srv.poll() is not None: sys.exit(f"the server ended: {srv.stderr.read()[-2000:]}")
        time.sleep(0.1)


def stream_bomb(fmt: str, side: int = 20000) -> bytes:
    "A DICOM whose header says 64 x 64 over a compressed stream whose own header declares `side` x `side` (a few KB)"
    import io, struct, pydicom
    from PIL import Image
    from pydicom.data import get_testdata_file
    from pydicom.encaps import encapsulate
    from pydicom.uid import JPEG2000Lossless, JPEGBaseline8Bit
    buf = io.BytesIO(); Image.new('L', (64, 64), 7).save(buf, format=fmt, **(dict(no_jp2=True) if fmt == 'JPEG2000' else {})); data = bytearray(buf.getvalue())
    if fmt == 'JPEG': i = data.find(b'\xff\xc0'); data[i + 5:i + 9] = struct.pack('>HH', side, side)
    else: j = data.find(b'\xff\x4f\xff\x51'); data[j + 8:j + 16] = struct.pack('>II', side, side)
    ds = pydicom.dcmread(get_testdata_file('CT_small.dcm')); ds.Rows = ds.Columns = 64
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 1, 'MONOCHROME2', 8, 8, 7, 0
    ds.PixelData = encapsulate([bytes(data)]); ds['PixelData'].VR = 'OB'
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit if fmt == 'JPEG' else JPEG2000Lossless
    out = io.BytesIO(); ds.save_as(out); return out.getvalue()


async def hold_slow(port: int, n: int, stop: asyncio.Event):
    "`n` slow clients: each opens a connection, sends half a request header, and waits"
    conns = []
    for _ in range(n):
        try:
            r, w = await asyncio.open_connection('127.0.0.1', port); w.write(b'POST /v1/predict HTTP/1.1\r\nHost: x\r\n'); await w.drain(); conns.append(w)
        except OSError: break
    await stop.wait()
    for w in conns: w.close()
    return len(conns)


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


def request_bytes(port: int, kind: str, name, data) -> bytes:
    "One complete HTTP/1.1 request: a multipart POST of one file, or a JSON body (the wrong content type)"
    if kind == 'json': body, ctype = b'{"file": "x"}', 'application/json'
    else:
        b = 'medimgbench7d1f'
        body = (f'--{b}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\nContent-Type: application/dicom\r\n\r\n').encode() + data + f'\r\n--{b}--\r\n'.encode()
        ctype = f'multipart/form-data; boundary={b}'
    return (f'POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n').encode() + body


async def load(port: int, jobs: list, clients: int) -> tuple:
    """Run `jobs` (kind, request bytes, expected) from `clients` concurrent keep-alive connections; (per-request (kind, status, prob,
    seconds, expected), wall seconds). The client is raw asyncio streams: as little of the shared CPU as a client can take."""
    queue, out = list(enumerate(jobs)), [None] * len(jobs)
    async def client():
        reader, writer = await asyncio.open_connection('127.0.0.1', port)
        try:
            while queue:
                i, (kind, req, want) = queue.pop(0)
                t = time.perf_counter()
                writer.write(req); await writer.drain()
                head = await reader.readuntil(b'\r\n\r\n')
                status = int(head.split(b' ', 2)[1])
                n = int(next(l.split(b':', 1)[1] for l in head.split(b'\r\n') if l.lower().startswith(b'content-length')))
                body = await reader.readexactly(n)
                dt = time.perf_counter() - t
                prob = json.loads(body)['results'][0]['prob'] if status == 200 else None
                out[i] = (kind, status, prob, dt, want)
                if b'connection: close' in head.lower():   # the server closes after some errors (413 before the body is read)
                    writer.close(); reader, writer = await asyncio.open_connection('127.0.0.1', port)
        finally: writer.close()
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
    ap.add_argument('--requests', type=int, default=192, help='requests per load level (default: 192; 1 client: half)')
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
        pred.predict(files, bs=32)
        rates = []
        for _ in range(7):   # the median of 7 passes over the 32 files, one batch of 32 each
            t = time.perf_counter(); pred.predict(files, bs=32); rates.append(len(files) / (time.perf_counter() - t))
        base_ips = float(np.median(rates))
        one = []
        for f in files * 2:
            t = time.perf_counter(); pred.predict([f], bs=1); one.append(time.perf_counter() - t)
        base_p50, base_p95 = np.percentile(one, 50) * 1e3, np.percentile(one, 95) * 1e3
        del pred
        port, max_mb = free_port(), 1.0
        srv, start_s = start_server([sys.executable, '-m', 'medimg', 'serve', '--bundle', str(bundle), '--port', str(port), '--max-file-mb', str(max_mb),
                                     '--log-level', 'warning'], port)
        url = f'http://127.0.0.1:{port}'
        import httpx
        blobs = {f: Path(f).read_bytes() for f in files}
        reqs = {f: request_bytes(port, 'file', Path(f).name, b) for f, b in blobs.items()}
        good = lambda i: ('good', reqs[files[i % len(files)]], ref[files[i % len(files)]])
        results, errors = {}, 0
        for clients in (1, 8, 32):
            jobs = [good(i) for i in range(a.requests if clients > 1 else a.requests // 2)]
            asyncio.run(load(port, jobs[:clients], clients))   # warm the connections and the path
            rows, wall = asyncio.run(load(port, jobs, clients))
            bad = [r for r in rows if r[1] != 200 or abs(r[2] - r[4]) > 1e-6]
            errors += len(bad)
            results[clients] = summary(rows, wall) | dict(errors=len(bad))
        # faults: malformed requests mixed into the load
        rng = random.Random(0)
        bombs = {'jpeg': stream_bomb('JPEG'), 'j2k': stream_bomb('JPEG2000')}
        kinds = {'truncated': (lambda b: b[:700], 422), 'oversized': (lambda b: os.urandom(int(max_mb * 2**20) + 4096), 413), 'json': (None, 415),
                 'jpeg_bomb': (lambda b: bombs['jpeg'], 422), 'j2k_bomb': (lambda b: bombs['j2k'], 422)}
        jobs = []
        for i in range(2 * a.requests):
            if rng.random() < a.bad_share:
                k = rng.choice(list(kinds)); f, st = kinds[k]
                jobs.append((k, request_bytes(port, 'json' if k == 'json' else 'file', 'bad.dcm', None if f is None else f(blobs[files[i % len(files)]])), st))
            else: jobs.append(good(i))
        async def faults():   # the load while slow clients hold connections half open
            stop = asyncio.Event(); slow = asyncio.create_task(hold_slow(port, 64, stop))
            await asyncio.sleep(0.5)
            try: return await load(port, jobs, 32)
            finally: stop.set(); held.append(await slow)
        held = []
        rows, wall = asyncio.run(faults())
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
          f"{fault['wrong']} answered wrongly; {held[0]} slow connections held meanwhile; still ready: {alive}")
    print(f"model calls {int(calls)} for {int(images)} images (mean batch {images / max(calls, 1):.1f}); server peak RSS (with decoders) {peak:.0f} MB")
    r32, r1 = results[32]['good_ips'] / base_ips, results[1]['p95'] / base_p50
    print(f"throughput at 32 clients / Predictor at batch 32: {r32:.2f} (goal >= 0.8); p95 at 1 client / Predictor batch-1 p50: {r1:.2f} (goal <= 2); "
          f"errors {errors + fault['wrong']} (goal 0)")
