#!/usr/bin/env python3
"""ebb's memory manager on a real GPU, measured with nvidia-smi.

Needs one NVIDIA GPU, nvidia-smi and a CUDA build of ebb (`cmake -DEBB_CUDA=ON`, `EBB_BIN`).
There is no peer here: the llama-server comparisons stay in memory_bench.py, which runs on the
CPU. The figures of this script:

  (g) footprint and KV release on the GPU: /api/ps estimated_bytes against the runner's GPU memory
      as nvidia-smi reports it per process, then the same after release-kv (the seed's "idle KV
      release frees 30-50% of VRAM") and after unload (the process and its memory are gone)
  (a) follow-up turn of a 1500-token chat: TTFT ready, after release-kv, after unload
  (b) wake overhead from the host tier: 8-token request after unload minus the same on a ready model
  (c) swap overhead: two models alternating under --device-memory that fits one
  (f) footprint accuracy over the CPU benchmark's matrix (3 sizes x 2 quants x num_ctx 2048/8192 x
      num_parallel 1/4): estimated_bytes against NVML's device memory for the runner
  (s) the seed's "a 24 GB card holds three 7B models with 20% headroom": --device-memory 24GiB on
      the GPU, three 7B q4_0 models at 4096 tokens, then a fourth

Usage: bench/gpu_bench.py [--runs 5] [--idle 2]
Writes <date>-gpu.{md,json} to $OUT when it is set, else to bench/results/.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
import loadgen  # noqa: E402
import servers  # noqa: E402
from common import fmt, log, med  # noqa: E402
from memory_bench import LONG, admin, ebb_model, host_models, ps_entry, req, wait_until  # noqa: E402

PORT, SWAP_PORT = 19410, 19411


def gpu_apps() -> dict:
    """pid → bytes, for every process nvidia-smi lists (runners, the spare, the supervisor)."""
    out = subprocess.run(["nvidia-smi", "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"],
                         capture_output=True, text=True, check=True).stdout
    apps = {}
    for line in out.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 2 and parts[0].isdigit():
            apps[parts[0]] = int(parts[1]) << 20 if parts[1].isdigit() else parts[1]
    return apps


def gpu_used_by(pid: int) -> int | None:
    """Bytes of GPU memory that nvidia-smi attributes to `pid` (None: not listed)."""
    b = gpu_apps().get(str(pid))
    return b if isinstance(b, int) else None


def gpu_info() -> dict:
    out = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,memory.used,driver_version", "--format=csv,noheader,nounits"],
                         capture_output=True, text=True, check=True).stdout.strip().splitlines()[0]
    name, total, used, driver = [p.strip() for p in out.split(",")]
    return {"name": name, "total_bytes": int(total) << 20, "used_bytes": int(used) << 20, "driver": driver}


def part_g(work: Path, res: dict):
    m430 = common.model("m430")
    p7 = servers.ensure_model(work / "llama7b-q4_0.gguf", "7B", "q4_0")
    cfg = servers.toml_config(work / "ebb-g.toml", [ebb_model("m430", m430, ctx=4096), ebb_model("llama7b", p7, ctx=4096)], LONG)
    ebb = servers.start_ebb(work / "empty", PORT, work / "ebb-g.log", config=cfg)
    time.sleep(1)
    res["g_idle_apps"] = {"supervisor_pid": ebb.pid, "apps": gpu_apps()}  # before any load: the spare runner only
    _, res["g_memory_idle"] = servers.http_json(PORT, "GET", "/api/memory")
    rows = []
    for name in ("m430", "llama7b"):
        t = loadgen.Target("ebb", PORT, name)
        req(t, "User: " + common.words(300, 3) + "\nAssistant:", 4, stream=False)
        e = ps_entry(PORT, name)
        pid = e["runner_pid"]
        before = gpu_used_by(pid)
        res.setdefault("g_loaded_apps", {})[name] = gpu_apps()
        res.setdefault("g_memory_loaded", {})[name] = servers.http_json(PORT, "GET", "/api/memory")[1]
        admin(PORT, "release-kv", {"model": name})
        time.sleep(0.5)
        after = gpu_used_by(pid)
        admin(PORT, "unload", {"model": name})
        wait_until(lambda: ps_entry(PORT, name) is None, 30, "unload")
        time.sleep(0.5)
        gone = gpu_used_by(pid)
        row = {"model": name, "estimated": e["estimated_bytes"], "weights": e["weights_bytes"], "kv": e["kv_bytes"],
               "compute": e["compute_bytes"], "baseline": e["baseline_bytes"], "gpu_before": before, "gpu_after_release": after,
               "gpu_after_unload": gone, "actual": e.get("actual_bytes"), "actual_source": e.get("actual_source")}
        if before:
            row["error"] = (before - e["estimated_bytes"]) / e["estimated_bytes"]
            row["released_fraction"] = (before - (after or 0)) / before
        rows.append(row)
        log(f"(g) {name}: estimated {mib(e['estimated_bytes'])} MiB, GPU {mib(before)} MiB; "
            f"after release-kv {mib(after)} MiB; after unload {mib(gone)}")
    res["g"] = {"rows": rows}
    servers.stop(ebb)


def part_a_b(work: Path, res: dict, runs: int, idle: float):
    m430 = common.model("m430")
    cfg = servers.toml_config(work / "ebb-a.toml", [ebb_model("m430", m430, ctx=4096)], LONG)
    ebb = servers.start_ebb(work / "empty", PORT, work / "ebb-a.log", config=cfg)
    E = loadgen.Target("ebb", PORT, "m430")
    # About 1500 prompt tokens: scale the word count by what the first prompt measured.
    n_words = 700
    probe = req(E, "User: " + common.words(n_words, 7) + "\nAssistant:", 1, stream=False)
    n_words = max(100, int(n_words * 1500 / max(1, probe.prompt_tokens)))
    conv = "User: " + common.words(n_words, 8) + "\nAssistant:"
    first = req(E, conv, 16, stream=False)
    hist = conv + first.text
    qn = [0]

    def follow():
        qn[0] += 1
        r = req(E, hist + "\nUser: " + common.words(8, 1000 + qn[0]) + "\nAssistant:", 4, stream=True)
        return {"ttft": r.ttft, "prompt_tokens": r.prompt_tokens, "prefill_s": r.prompt_s,
                "load_s": r.raw_final.get("load_duration", 0) / 1e9}

    a = []
    for _ in range(runs):
        out = {"ready": follow()}
        admin(PORT, "release-kv", {"model": "m430"})
        time.sleep(idle)
        out["warm"] = follow()
        admin(PORT, "unload", {"model": "m430"})
        wait_until(lambda: ps_entry(PORT, "m430") is None and "m430" in host_models(PORT), 30, "host tier")
        time.sleep(idle)
        out["host"] = follow()
        a.append(out)
    A = {"conversation_tokens": first.prompt_tokens, "runs": a}
    for k in ("ready", "warm", "host"):
        A[k + "_ttft"] = med([x[k]["ttft"] for x in a])
        A[k + "_prefilled"] = med([x[k]["prompt_tokens"] for x in a])
    res["a"] = A
    log(f"(a) {first.prompt_tokens}-token chat: ready {A['ready_ttft']:.3f} s, after release-kv {A['warm_ttft']:.3f} s, "
        f"after unload {A['host_ttft']:.3f} s")

    q = "User: " + common.words(12, 5) + "\nAssistant:"
    b = []
    for _ in range(runs):
        req(E, q, 8, stream=False)
        ready = med([req(E, q, 8, stream=False).total for _ in range(3)])
        admin(PORT, "unload", {"model": "m430"})
        wait_until(lambda: ps_entry(PORT, "m430") is None and "m430" in host_models(PORT), 30, "host tier")
        time.sleep(idle)
        host = req(E, q, 8, stream=False).total
        b.append({"ready": ready, "host": host, "overhead": host - ready})
    res["b"] = {"runs": b, "ready": med([x["ready"] for x in b]), "host": med([x["host"] for x in b]),
                "overhead": med([x["overhead"] for x in b])}
    log(f"(b) host-tier wake overhead {res['b']['overhead']:.3f} s")
    servers.stop(ebb)


def part_c(work: Path, res: dict, runs: int):
    a, b = common.model("m430"), common.model("m430b")
    cfg = servers.toml_config(work / "ebb-c.toml", [ebb_model("m430", a, ctx=4096), ebb_model("m430b", b, ctx=4096)], LONG)
    # Learn one model's estimate, then give the device room for one model only.
    probe = servers.start_ebb(work / "empty", SWAP_PORT, work / "ebb-c0.log", config=cfg)
    req(loadgen.Target("ebb", SWAP_PORT, "m430"), "User: hi\nAssistant:", 1, stream=False)
    est = ps_entry(SWAP_PORT, "m430")["estimated_bytes"]
    servers.stop(probe)
    budget = int(est * 1.2)
    ebb = servers.start_ebb(work / "empty", SWAP_PORT, work / "ebb-c.log", config=cfg, device_memory=str(budget), headroom="0")
    q = "User: " + common.words(12, 5) + "\nAssistant:"
    A, B = loadgen.Target("ebb", SWAP_PORT, "m430"), loadgen.Target("ebb", SWAP_PORT, "m430b")
    req(A, q, 8, stream=False)
    ready = [req(A, q, 8, stream=False).total for _ in range(runs)]
    swaps = []
    for i in range(runs):
        swaps.append(req(B if i % 2 == 0 else A, q, 8, stream=False).total)
    res["c"] = {"budget": budget, "estimate": est, "ready": med(ready), "swap": med(swaps), "overhead": med(swaps) - med(ready),
                "ready_runs": ready, "swap_runs": swaps}
    log(f"(c) swap {res['c']['swap']:.3f} s, ready {res['c']['ready']:.3f} s, overhead {res['c']['overhead']:.3f} s")
    servers.stop(ebb)


def mib(x) -> str:
    return "—" if x is None else f"{x / 2**20:.0f}"


def part_f(work: Path, res: dict):
    entries = []
    for size in ("t20", "m120", "m430"):
        for quant in ("q8_0", "q4_0"):
            path = common.model(size if quant == "q8_0" else f"{size}-q4")
            for ctx in (2048, 8192):
                for par in (1, 4):
                    entries.append(ebb_model(f"{size}-{quant}-c{ctx}-p{par}", path, ctx=ctx, np_=par))
    cfg = servers.toml_config(work / "ebb-f.toml", entries, LONG)
    ebb = servers.start_ebb(work / "empty", PORT, work / "ebb-f.log", config=cfg)
    rows = []
    for i, m in enumerate(entries):
        t = loadgen.Target("ebb", PORT, m["name"])
        admin(PORT, "load", {"model": m["name"]})  # loaded, nothing computed yet
        loaded = gpu_used_by(ps_entry(PORT, m["name"])["runner_pid"])
        req(t, "User: " + common.words(400, 11 + i) + "\nAssistant:", 2, stream=False)
        e = ps_entry(PORT, m["name"])
        gpu = gpu_used_by(e["runner_pid"])
        row = {"name": m["name"], "estimated": e["estimated_bytes"], "actual": e["actual_bytes"], "source": e.get("actual_source"),
               "nvidia_smi": gpu, "nvml_after_load": loaded, "weights": e["weights_bytes"], "kv": e["kv_bytes"], "compute": e["compute_bytes"],
               "baseline": e["baseline_bytes"]}
        row["error"] = (row["actual"] - row["estimated"]) / row["estimated"] if row["estimated"] else None
        rows.append(row)
        log(f"(f) {m['name']}: estimated {mib(row['estimated'])} MiB, NVML {mib(row['actual'])} MiB ({row['error']:+.2%})")
        admin(PORT, "unload", {"model": m["name"], "tier": "cold"})
        wait_until(lambda: ps_entry(PORT, m["name"]) is None, 30, "unload")
    res["f"] = {"rows": rows}
    servers.stop(ebb)


def part_s(work: Path, res: dict):
    p7 = servers.ensure_model(work / "llama7b-q4_0.gguf", "7B", "q4_0")
    names = ["7b-a", "7b-b", "7b-c", "7b-d"]  # one file, four models: each has its own runner
    cfg = servers.toml_config(work / "ebb-s.toml", [ebb_model(n, p7, ctx=4096) for n in names], LONG)
    ebb = servers.start_ebb(work / "empty", SWAP_PORT, work / "ebb-s.log", config=cfg, device_memory="24GiB")
    steps = []
    for n in names:
        r = loadgen.one(loadgen.Target("ebb", SWAP_PORT, n), "User: hello\nAssistant:", 4, stream=False)
        _, mem = servers.http_json(SWAP_PORT, "GET", "/api/memory")
        d = mem["devices"][0]
        apps = gpu_apps()
        steps.append({"model": n, "status": r.status, "error": r.error, "ready": [f"{m['name']} ({m['tier']})" for m in d["models"]],
                      "used": d["used"], "budget": d["budget"], "total": d["total"], "measured_used": d["measured_used"],
                      "gpu_apps_bytes": sum(b for b in apps.values() if isinstance(b, int)), "gpu_used_bytes": gpu_info()["used_bytes"]})
        log(f"(s) after {n}: HTTP {r.status}, on the device {steps[-1]['ready']}, accounted {d['used'] / 2**30:.2f} of "
            f"{d['budget'] / 2**30:.2f} GiB budget, nvidia-smi {steps[-1]['gpu_used_bytes'] / 2**30:.2f} GiB")
    res["s"] = {"steps": steps, "file_bytes": p7.stat().st_size}
    servers.stop(ebb)


def report(res: dict) -> str:
    md = ["# Memory manager on a GPU (ebb alone, nvidia-smi)\n\n"]
    m = res["machine"]
    md.append(f"- date: {m['date']}\n- commit: `{m['commit']}`\n- GPU: {res['gpu']['name']}, "
              f"{res['gpu']['total_bytes'] / 2**30:.1f} GiB, driver {res['gpu']['driver']}; host: {m['cpu']}, {m['cores']} cores\n"
              f"- command: `bench/gpu_bench.py {' '.join(sys.argv[1:])}`; medians of {res['runs']} runs; idle {res['idle']} s "
              "before each measured wake\n")
    if "g" in res:
        md.append("\n## Footprint and KV release on the GPU\n\nestimate = `/api/ps` `estimated_bytes` (dry run + runner baseline); "
                  "GPU = nvidia-smi's memory for the runner's pid (it includes the CUDA context); ebb's `actual_bytes` is what "
                  "`/api/ps` reports for the same runner.\n\n")
        rows = []
        for r in res["g"]["rows"]:
            rows.append([r["model"], f"{r['weights'] / 2**20:.0f}", f"{r['kv'] / 2**20:.0f}", f"{r['compute'] / 2**20:.0f}",
                         f"{r['estimated'] / 2**20:.0f}", mib(r["gpu_before"]),
                         f"{r['error']:+.1%}" if "error" in r else "—",
                         mib(r["gpu_after_release"]),
                         f"{r['released_fraction']:.1%}" if "released_fraction" in r else "—",
                         "gone" if r["gpu_after_unload"] is None else f"{r['gpu_after_unload'] / 2**20:.0f}",
                         f"{mib(r.get('actual'))} ({r.get('actual_source')})"])
        md.append(common.md_table(rows, ["model @4096", "weights MiB", "KV MiB", "compute MiB", "estimate MiB", "GPU MiB",
                                         "error", "GPU after release-kv MiB", "released", "after unload", "ebb's actual_bytes MiB"]))
    if "g_idle_apps" in res:
        md.append(f"\nGPU memory per process with no model loaded (the supervisor is pid {res['g_idle_apps']['supervisor_pid']}; "
                  f"the other is the pre-spawned spare runner): "
                  + (", ".join(f"pid {p}: {mib(b) if isinstance(b, int) else b} MiB" for p, b in res["g_idle_apps"]["apps"].items())
                     or "none") + "\n")
    if "a" in res:
        A = res["a"]
        md.append(f"\n## (a) Follow-up turn\n\nA {A['conversation_tokens']}-token raw chat on m430 (430M q8_0, num_ctx 4096); "
                  "each follow-up adds an 8-word user line and streams 4 tokens; TTFT at the client. Targets: ≤ 0.15 s after "
                  "release-kv, ≤ 0.35 s after unload.\n\n")
        md.append(common.md_table([["ready", fmt(A["ready_ttft"], " s"), A["ready_prefilled"]],
                                   ["after release-kv", fmt(A["warm_ttft"], " s"), A["warm_prefilled"]],
                                   ["after unload (host tier)", fmt(A["host_ttft"], " s"), A["host_prefilled"]]],
                                  ["state", "TTFT", "tokens prefilled"]))
    if "b" in res:
        B = res["b"]
        md.append(f"\n## (b) Wake from the host tier\n\n8-token request: ready {fmt(B['ready'], ' s')}, after unload "
                  f"{fmt(B['host'], ' s')}, overhead {fmt(B['overhead'], ' s')} (target ≤ 0.12 s).\n")
    if "c" in res:
        C = res["c"]
        md.append(f"\n## (c) Swap\n\nTwo 430M q8_0 models alternating under `--device-memory {C['budget']} --headroom 0` "
                  f"(1.2× one model's estimate): alternating {fmt(C['swap'], ' s')}, ready {fmt(C['ready'], ' s')}, overhead "
                  f"{fmt(C['overhead'], ' s')}.\n")
    if "f" in res:
        md.append("\n## Footprint accuracy over the matrix\n\nestimate = `/api/ps` `estimated_bytes` (dry run + the runner's "
                  "CUDA context as measured at start); actual = NVML's device memory for the runner (`actual_bytes`).\n\n")
        rows = [[r["name"], mib(r["weights"]), mib(r["kv"]), mib(r["compute"]), mib(r["baseline"]), mib(r["estimated"]),
                 mib(r.get("nvml_after_load")), mib(r["actual"]), mib(r["nvidia_smi"]), f"{r['error']:+.2%}", "yes" if abs(r["error"]) <= 0.02 else "**no**"]
                for r in res["f"]["rows"]]
        md.append(common.md_table(rows, ["model-quant-ctx-parallel", "weights", "KV", "compute", "baseline", "estimate",
                                         "NVML after load", "NVML after a 512-token request", "nvidia-smi", "error", "≤ 2%?"]))
        errs = sorted(abs(r["error"]) for r in res["f"]["rows"])
        md.append(f"\n(MiB) {sum(e <= 0.02 for e in errs)} of {len(errs)} within 2%; median |error| "
                  f"{errs[len(errs) // 2]:.2%}, max {errs[-1]:.2%}.\n")
    if "s" in res:
        md.append("\n## Three 7B models on a 24 GB card\n\n`--device-memory 24GiB` on the GPU (default 20% headroom), "
                  "four model names over one 7B q4_0 file at 4096 tokens, each with its own runner, requested in turn.\n\n")
        md.append(common.md_table([[st["model"], st["status"], ", ".join(st["ready"]), f"{st['used'] / 2**30:.2f}",
                                    f"{st['budget'] / 2**30:.2f}", f"{st['measured_used'] / 2**30:.2f}",
                                    f"{st['gpu_used_bytes'] / 2**30:.2f}"] for st in res["s"]["steps"]],
                                  ["request", "HTTP", "on the device after it", "accounted GiB", "budget GiB",
                                   "NVML per runner, summed GiB", "nvidia-smi used GiB"]))
    for k in ("errors",):
        if res.get(k):
            md.append("\n## Errors\n\n" + "".join(f"- {e}\n" for e in res[k]))
    return "".join(md)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--idle", type=float, default=2.0)
    ap.add_argument("--parts", default="g,a,c,f,s")
    args = ap.parse_args()
    work = common.workdir("gpu")
    (work / "empty").mkdir()
    res = {"machine": servers.machine(), "gpu": gpu_info(), "runs": args.runs, "idle": args.idle, "errors": []}
    res["machine"]["commit"] = os.environ.get("EBB_COMMIT") or res["machine"]["commit"]  # the binary's, where it was built
    parts = args.parts.split(",")
    for name, fn in (("g", lambda: part_g(work, res)), ("a", lambda: part_a_b(work, res, args.runs, args.idle)),
                     ("c", lambda: part_c(work, res, args.runs)), ("f", lambda: part_f(work, res)),
                     ("s", lambda: part_s(work, res))):
        if name not in parts:
            continue
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - keep what the other parts measured
            res["errors"].append(f"part {name}: {e!r}")
            log(f"part {name} FAILED: {e!r}")
            servers._cleanup()  # every server this part started
    md = report(res)
    out = Path(os.environ["OUT"]) if os.environ.get("OUT") else servers.REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    day = time.strftime("%Y-%m-%d")
    suffix = "" if args.parts == "g,a,c,f,s" else "-" + args.parts.replace(",", "")
    (out / f"{day}-gpu{suffix}.json").write_text(json.dumps(res, indent=1) + "\n")
    (out / f"{day}-gpu{suffix}.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
