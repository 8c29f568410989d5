#!/usr/bin/env python3
"""Model store benchmarks (issue 12, §5): pull from a local registry against curl, and create with
quantize against llama.cpp's own llama-quantize.

  pull      - a real registry (Debian's docker-registry, Docker Distribution 2.8) on loopback holds a
              1B f16 synthetic model pushed by ebb. Each run pulls it into an empty store through
              POST /api/pull (delete first, so every blob is fetched) and, interleaved, fetches the
              same model blob with `curl -o` from the registry's blob URL. Figures: time to a usable
              model (request to "success": download, verify, rename, manifest) as throughput, against
              curl's, target >= 0.9x; curl followed by an fsync as a second reference (ebb syncs
              every blob before its rename). The verify step apart: the time from the NDJSON line that
              shows the model blob complete (completed == total, after its last byte was written) to
              the next line, which comes once the blob was hashed and renamed. Blobs of 64 MiB and
              more download in parallel Range parts and are hashed after the download; smaller ones
              are hashed as they stream.
  quantize  - POST /api/create {"files": {f16 blob}, "quantize": "q4_0"} of the same 1B f16 model
              (ebb runs `ebb quantize` as a child process), against `llama-quantize IN OUT q4_0` on
              the same file with the same thread count (all cores). Figures: wall time (ebb: the
              quantize step from its first "quantizing" line to the next status, and the whole create
              to "success", which adds hashing the output, the rename, the manifest and two footprint
              dry runs), and the quantizer's peak RSS (VmHWM of the child, polled every 20 ms, for
              both; llama-quantize's ru_maxrss as a check). Target: reference (no target in the
              issue), reported as ratios.

Every figure is the median of --runs interleaved runs (ebb first, then the reference, then the
reference first), each started on a quiet machine (common.guarded).

Usage: bench/store_bench.py [--parts pull,quantize] [--runs 5] [--name store]
Needs build/ebb, /usr/bin/docker-registry, curl, and llama-quantize from bench/build-peer.sh.
Writes bench/results/<date>-<name>.{md,json}.
"""
from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import resource
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))
import common  # noqa: E402
import servers  # noqa: E402
from common import fmt, log, med, ratio  # noqa: E402

MODEL = ("1B", "f16", 1)  # params, quant, seed: a 1B-class model as the issue asks, about 2 GiB
LLAMA_QUANTIZE = servers.PEER_DIR / "llama-quantize"
REGISTRY = Path("/usr/bin/docker-registry")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def stream_ndjson(port: int, path: str, body: dict, on_line=None, timeout: float = 3600) -> list[tuple[float, dict]]:
    """POSTs `body` and returns (arrival time, object) for every NDJSON line; raises on an error line."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("POST", path, body=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
        r = c.getresponse()
        if r.status != 200:
            raise RuntimeError(f"{path}: {r.status} {r.read()[:500]!r}")
        out = []
        while line := r.readline():
            if not line.strip():
                continue
            obj = json.loads(line)
            out.append((time.perf_counter(), obj))
            if "error" in obj:
                raise RuntimeError(f"{path}: {obj['error']}")
            if on_line:
                on_line(obj)
        return out
    finally:
        c.close()


def upload_blob(port: int, path: Path, digest: str):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=3600)
    try:
        with open(path, "rb") as f:
            c.request("POST", f"/api/blobs/{digest}", body=f,
                      headers={"Content-Length": str(path.stat().st_size), "Content-Type": "application/octet-stream"})
            r = c.getresponse()
            r.read()
            if r.status not in (200, 201):
                raise RuntimeError(f"blob upload: {r.status}")
    finally:
        c.close()


def delete_model(port: int, name: str):
    status, _ = servers.http_json(port, "DELETE", "/api/delete", {"model": name}, timeout=60)
    if status not in (200, 404):
        raise RuntimeError(f"delete {name}: {status}")


class Registry:
    """docker-registry serve on loopback, storage in the work dir (as tests/integration/registry_fixture.h)."""

    def __init__(self, work: Path):
        self.port = free_port()
        d = work / "registry"
        d.mkdir()
        cfg = d / "config.yml"
        cfg.write_text(f"version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {d / 'storage'}\n"
                       f"http:\n  addr: 127.0.0.1:{self.port}\n")
        logf = open(work / "registry.log", "ab")
        self.proc = subprocess.Popen([str(REGISTRY), "serve", str(cfg)], stdout=logf, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        servers._procs.append(self.proc)
        t0 = time.time()
        while time.time() - t0 < 30:
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", "/v2/")
                if c.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("docker-registry did not start")

    def manifest(self, repo: str, tag: str) -> dict:
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        c.request("GET", f"/v2/{repo}/manifests/{tag}",
                  headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
        r = c.getresponse()
        return json.loads(r.read())


def descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/task/{p}/children") as f:
                kids = [int(x) for x in f.read().split()]
        except OSError:
            kids = []
        out += kids
        todo += kids
    return out


def cmdline(pid: int) -> str:
    try:
        return open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def vm_hwm(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class PeakWatcher:
    """Polls every 20 ms the VmHWM of processes `pick` returns; keeps the largest value seen per pid."""

    def __init__(self, pick):
        self.pick, self.peak, self.stop = pick, {}, threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop.is_set():
            for pid in self.pick():
                self.peak[pid] = max(self.peak.get(pid, 0), vm_hwm(pid))
            time.sleep(0.02)

    def done(self) -> int:
        self.stop.set()
        self.t.join()
        return max(self.peak.values(), default=0)


# ---- pull ------------------------------------------------------------------------------------

def part_pull(res, args, work: Path, gguf: Path):
    reg = Registry(work)
    name = f"127.0.0.1:{reg.port}/bench/m1b:f16"
    digest = sha256_file(gguf)
    size = gguf.stat().st_size
    src_port = free_port()
    src = servers.start_ebb(str(work / "store-src"), src_port, work / "serve-src.log")
    log(f"pull: upload {size / 2**30:.2f} GiB, create {name}, push it to the registry")
    upload_blob(src_port, gguf, digest)
    stream_ndjson(src_port, "/api/create", {"model": name, "files": {"m1b.gguf": digest}})
    stream_ndjson(src_port, "/api/push", {"model": name, "insecure": True})
    servers.stop(src)
    man = reg.manifest("bench/m1b", "f16")
    layer = next(x for x in man["layers"] if x["mediaType"] == "application/vnd.ollama.image.model")
    assert layer["digest"] == digest, (layer, digest)
    total = layer["size"] + sum(x["size"] for x in man["layers"] if x is not layer) + man["config"]["size"]
    blob_url = f"http://127.0.0.1:{reg.port}/v2/bench/m1b/blobs/{digest}"

    dst_port = free_port()
    dst_store = work / "store-dst"
    servers.start_ebb(str(dst_store), dst_port, work / "serve-dst.log")
    curl_out = work / "curl.blob"

    def ebb_once():
        delete_model(dst_port, name)
        assert not (dst_store / "blobs" / ("sha256-" + digest[7:])).exists()
        t0 = time.perf_counter()
        lines = stream_ndjson(dst_port, "/api/pull", {"model": name, "insecure": True})
        t_end = lines[-1][0]
        assert lines[-1][1].get("status") == "success", lines[-1]
        i = next(k for k, (_, o) in enumerate(lines)
                 if o.get("digest") == digest and o.get("completed") == o.get("total") == size)
        verify = lines[i + 1][0] - lines[i][0]
        return {"s": t_end - t0, "download_s": lines[i][0] - t0, "verify_s": verify}

    def curl_once(sync: bool):
        curl_out.unlink(missing_ok=True)
        t0 = time.perf_counter()
        subprocess.run(["curl", "-sS", "-f", "-L", "-o", str(curl_out), blob_url], check=True)
        if sync:
            fd = os.open(curl_out, os.O_RDONLY)
            os.fsync(fd)
            os.close(fd)
        s = time.perf_counter() - t0
        assert curl_out.stat().st_size == size
        curl_out.unlink()
        return {"s": s}

    # Warm-up: the registry's file in the page cache for both, the pull path once.
    ebb_once()
    curl_once(False)
    runs = {"ebb": [], "curl": [], "curl_fsync": []}
    for r in range(args.runs):
        order = ["ebb", "curl", "curl_fsync"] if r % 2 == 0 else ["curl_fsync", "curl", "ebb"]
        for who in order:
            fn = ebb_once if who == "ebb" else (lambda s=(who == "curl_fsync"): curl_once(s))
            v = common.guarded(fn, f"pull {who} run {r + 1}")
            runs[who].append(v)
            log(f"  pull {who} run {r + 1}: {v['s']:.2f} s")
    ebb_s = med([x["s"] for x in runs["ebb"]])
    curl_s = med([x["s"] for x in runs["curl"]])
    curl_sync_s = med([x["s"] for x in runs["curl_fsync"]])
    res["pull"] = {
        "model_blob_bytes": size, "all_blobs_bytes": total, "runs": runs,
        "ebb_s": ebb_s, "ebb_download_s": med([x["download_s"] for x in runs["ebb"]]),
        "ebb_verify_s": med([x["verify_s"] for x in runs["ebb"]]),
        "curl_s": curl_s, "curl_fsync_s": curl_sync_s,
        "ebb_mb_s": total / ebb_s / 1e6, "curl_mb_s": size / curl_s / 1e6, "curl_fsync_mb_s": size / curl_sync_s / 1e6,
    }
    p = res["pull"]
    p["ratio_vs_curl"] = ratio(p["ebb_mb_s"], p["curl_mb_s"])
    p["ratio_vs_curl_fsync"] = ratio(p["ebb_mb_s"], p["curl_fsync_mb_s"])


# ---- quantize --------------------------------------------------------------------------------

def part_quantize(res, args, work: Path, gguf: Path):
    if not LLAMA_QUANTIZE.exists():
        raise RuntimeError(f"{LLAMA_QUANTIZE} missing: run bench/build-peer.sh")
    port = free_port()
    proc = servers.start_ebb(str(work / "store-q"), port, work / "serve-q.log")
    digest = sha256_file(gguf)
    upload_blob(port, gguf, digest)
    threads = os.cpu_count()
    out = work / "peer-q4.gguf"

    def ebb_once():
        delete_model(port, "bench/q4")
        watch = PeakWatcher(lambda: [p for p in descendants(proc.pid) if " quantize " in cmdline(p)])
        t0 = time.perf_counter()
        lines = stream_ndjson(port, "/api/create", {"model": "bench/q4", "files": {"m1b.gguf": digest},
                                                    "quantize": "q4_0"})
        peak = watch.done()
        t_end = lines[-1][0]
        i = next(k for k, (_, o) in enumerate(lines) if str(o.get("status", "")).startswith("quantizing"))
        j = next(k for k in range(i, len(lines)) if not str(lines[k][1].get("status", "")).startswith("quantizing"))
        fp = next((o["footprint"] for _, o in lines if "footprint" in o), None)
        return {"s": t_end - t0, "quantize_s": lines[j][0] - lines[i][0], "peak_rss": peak, "footprint": fp,
                "status": [o.get("status") for _, o in lines if "total" not in o]}

    def peer_once():
        out.unlink(missing_ok=True)
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        t0 = time.perf_counter()
        p = subprocess.Popen([str(LLAMA_QUANTIZE), str(gguf), str(out), "q4_0", str(threads)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        watch = PeakWatcher(lambda: [p.pid])
        rc = p.wait()
        s = time.perf_counter() - t0
        peak = watch.done()
        if rc != 0:
            raise RuntimeError(f"llama-quantize exited {rc}")
        maxrss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        size = out.stat().st_size
        out.unlink()
        return {"s": s, "peak_rss": peak, "ru_maxrss": maxrss if maxrss > before * 1024 else None, "bytes": size}

    runs = {"ebb": [], "peer": []}
    for r in range(args.runs):
        for who in (["ebb", "peer"] if r % 2 == 0 else ["peer", "ebb"]):
            v = common.guarded(ebb_once if who == "ebb" else peer_once, f"quantize {who} run {r + 1}")
            runs[who].append(v)
            log(f"  quantize {who} run {r + 1}: {v['s']:.2f} s, peak RSS {v['peak_rss'] / 2**20:.0f} MiB")
    q = {"source_bytes": gguf.stat().st_size, "threads": threads, "runs": runs,
         "ebb_create_s": med([x["s"] for x in runs["ebb"]]),
         "ebb_quantize_s": med([x["quantize_s"] for x in runs["ebb"]]),
         "peer_s": med([x["s"] for x in runs["peer"]]),
         "ebb_peak_rss": med([x["peak_rss"] for x in runs["ebb"]]),
         "peer_peak_rss": med([x["peak_rss"] for x in runs["peer"]]),
         "peer_bytes": runs["peer"][0]["bytes"],
         "footprint": runs["ebb"][0]["footprint"]}
    q["time_ratio"] = ratio(q["peer_s"], q["ebb_quantize_s"])  # > 1: ebb faster
    q["rss_ratio"] = ratio(q["ebb_peak_rss"], q["peer_peak_rss"])  # < 1: ebb smaller
    res["quantize"] = q


# ---- report ----------------------------------------------------------------------------------

def report(res: dict, args) -> str:
    md = common.machine_header(res["machine"], "Model store: pull and create with quantize")
    md += f"- command: `{res['command']}`\n- quiet guard: {res.get('quiet', '')}\n\n"
    if "pull" in res:
        p = res["pull"]
        md += ("## Pull from a local registry (docker-registry 2.8 on loopback)\n\n"
               f"A 1B f16 synthetic model: model blob {p['model_blob_bytes'] / 2**30:.2f} GiB, all blobs "
               f"{p['all_blobs_bytes']} bytes. ebb: POST /api/pull into an empty store, to \"success\". curl: "
               "`curl -o` of the model blob alone.\n\n")
        md += common.md_table([
            ["ebb: time to a usable model", fmt(p["ebb_s"], " s"), fmt(p["ebb_mb_s"], " MB/s", 0), "", ""],
            ["— of which download", fmt(p["ebb_download_s"], " s"), "", "", ""],
            ["— of which verify (hash + rename, after the download)", fmt(p["ebb_verify_s"], " s"), "", "", ""],
            ["curl -o", fmt(p["curl_s"], " s"), fmt(p["curl_mb_s"], " MB/s", 0), fmt(p["ratio_vs_curl"], "×", 2),
             "≥ 0.9×"],
            ["curl -o, then fsync", fmt(p["curl_fsync_s"], " s"), fmt(p["curl_fsync_mb_s"], " MB/s", 0),
             fmt(p["ratio_vs_curl_fsync"], "×", 2), "reference"],
        ], ["what", "median time", "throughput", "ebb ÷ this", "target"])
    if "quantize" in res:
        q = res["quantize"]
        fp = q.get("footprint") or {}
        md += ("\n## Create with quantize q4_0 against llama-quantize\n\n"
               f"Source: 1B f16 synthetic, {q['source_bytes'] / 2**30:.2f} GiB; output "
               f"{q['peer_bytes'] / 2**20:.0f} MiB (llama-quantize); {q['threads']} threads each.\n\n")
        md += common.md_table([
            ["ebb: quantize step", fmt(q["ebb_quantize_s"], " s"), f"{q['ebb_peak_rss'] / 2**20:.0f} MiB"],
            ["ebb: whole create, to \"success\"", fmt(q["ebb_create_s"], " s"), ""],
            ["llama-quantize", fmt(q["peer_s"], " s"), f"{q['peer_peak_rss'] / 2**20:.0f} MiB"],
            ["llama-quantize ÷ ebb quantize step (time; > 1: ebb faster)", fmt(q["time_ratio"], "×", 2), ""],
            ["ebb ÷ llama-quantize (peak RSS; < 1: ebb smaller)", "", fmt(q["rss_ratio"], "×", 2)],
        ], ["what", "median time", "peak RSS"])
        if fp:
            md += (f"\nThe footprint create reported at num_ctx {fp['num_ctx']}: {fp['before'] / 2**20:.0f} MiB "
                   f"before, {fp['after'] / 2**20:.0f} MiB after (weights {fp['weights_before'] / 2**20:.0f} → "
                   f"{fp['weights_after'] / 2**20:.0f} MiB).\n")
    return md + common.report_tail(res)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", default="pull,quantize")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--name", default="store")
    ap.add_argument("--report-only")
    ap.add_argument("--analysis")
    args = ap.parse_args()
    if args.report_only:
        return common.report_only(args.report_only, args.analysis, report)
    parts = args.parts.split(",")
    work = common.workdir("store")
    common.snapshot_ebb(work)
    res = common.new_results(args, __file__)
    common.MODEL_CACHE.mkdir(parents=True, exist_ok=True)
    params, quant, seed = MODEL
    gguf = servers.ensure_model(common.MODEL_CACHE / "m1b-f16.gguf", params, quant, seed)
    try:
        if "pull" in parts:
            part_pull(res, args, work, gguf)
        if "quantize" in parts:
            part_quantize(res, args, work, gguf)
    except Exception:  # noqa: BLE001
        common.note_abort(res)
    res["quiet"] = common.quiet_summary(no_guard=common.NO_GUARD)
    drop = [work / "ebb", work / "curl.blob", work / "peer-q4.gguf"]
    for d in ("store-src", "store-dst", "store-q", "registry"):
        subprocess.run(["rm", "-rf", str(work / d)])
    common.finish_run(res, work, args, report, drop)


if __name__ == "__main__":
    main()
