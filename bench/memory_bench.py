#!/usr/bin/env python3
"""Memory-manager benchmarks: ebb against llama-server built from the same pinned llama.cpp.

  (a) follow-up turn of a long chat after the KV was released / the runner exited, vs
      llama-server --sleep-idle-seconds (which re-prefills)
  (b) wake overhead from the host tier and from a cold file, vs llama-server's sleep/wake
  (c) swap overhead alternating two models under a budget that fits one, vs llama-server router
      mode --models-max 1
  (r) KV-release reclaim fraction: dry run of a 7B-shaped MHA model, and measured RSS on real runs
  (f) footprint accuracy: /api/ps estimated_bytes against the runner's RSS over a matrix

Usage: bench/memory_bench.py [--parts a,b,c,r,f] [--runs 5] [--followup-tokens 1500]
Writes bench/results/<date>-memory.{md,json}. Speed/memory targets live here, never in tests.

Baseline mode: `--baseline-bin OLD_EBB` (or EBB_BASE_BIN=OLD_EBB) compares ebb (EBB_BIN) with an
older ebb binary instead of llama-server, parts a (with b) and c only: ebb's side of each, on two
ebb servers, interleaved, with each binary's run-to-run spread and a noise verdict (bench/README.md).
It does not need the peer built. Use a distinct --name, e.g. --name seams-memory.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))
import common  # noqa: E402
import loadgen  # noqa: E402
import servers  # noqa: E402
from common import fmt, log, med, ratio  # noqa: E402

EBB_PORT, PEER_PORT = 19310, 19320
EBB_SWAP_PORT, ROUTER_PORT = 19311, 19330
EBB_FP_PORT, EBB_7B_PORT = 19312, 19313
EBB_BASE_PORT, EBB_BASE_SWAP_PORT = 19314, 19315  # baseline mode: the old ebb binary's servers
THREADS = 2
LONG = {"kv_idle": "1h", "keep_alive": "1h", "host_keep": "1h"}  # no timer fires during a run


def ebb_model(name, path, ctx=4096, np_=1, **kw):
    d = {"name": name, "path": str(path), "num_ctx": ctx, "num_parallel": np_, "num_batch": 512, "num_thread": THREADS}
    d.update(kw)
    return d


def peer_args(model_path, ctx=4096, np_=1, extra=()):
    return ["-m", str(model_path), "-t", THREADS, "-tb", THREADS, "-c", ctx, "-np", np_, "-b", 512, "-ub", 512, *extra]


def ps_entry(port, name):
    s, b = servers.http_json(port, "GET", "/api/ps")
    for m in (b or {}).get("models", []):
        if m.get("name") == name:
            return m
    return None


def host_models(port):
    s, b = servers.http_json(port, "GET", "/api/memory")
    return {m["name"]: m for m in b["host"]["models"]}


def wait_until(pred, timeout=30.0, what=""):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if pred():
            return time.time() - t0
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


def admin(port, op, body):
    s, b = servers.http_json(port, "POST", f"/api/models/{op}", body)
    if s != 200:
        raise RuntimeError(f"POST /api/models/{op} {body} -> {s} {b}")
    return b


def peer_sleeping(port):
    s, b = servers.http_json(port, "GET", "/props", timeout=5)
    return s == 200 and bool(b.get("is_sleeping"))


def req(target, prompt, n, stream):
    """One request on a fresh connection (a client coming back after idle time)."""
    r = loadgen.one(target, prompt, n, stream=stream)
    if not r.ok:
        raise RuntimeError(f"{target.label()} request failed: {r.status} {r.error}")
    return r


# ---------------------------------------------------------------------------------------------
def measure_release(port, model):
    """The runner's memory (RSS from /proc, and ebb's own figures) right before and after
    `release-kv`, and the fraction each drops by."""
    def sample(pid):
        e = ps_entry(port, model)
        return {"ps_actual": e["actual_bytes"], "ps_estimated": e["estimated_bytes"], **servers.rss_detail(pid)}
    pid = ps_entry(port, model)["runner_pid"]
    before = sample(pid)
    admin(port, "release-kv", {"model": model})
    time.sleep(0.3)
    after = sample(pid)
    return {"before": before, "after": after,
            "fraction_rss": (before["VmRSS"] - after["VmRSS"]) / before["VmRSS"],
            "fraction_estimated": (before["ps_estimated"] - after["ps_estimated"]) / before["ps_estimated"]}


# Seconds ebb idles after release-kv/unload before a measured wake (--idle). On a VM whose
# balloon driver reports free memory to the host (about 2 s after it is freed), memory reused at
# once is still backed, memory reused after idle is not: only the latter is a real wake.
IDLE = 5.0


def part_a_b(work, runs, n_follow, sleep_s, res):
    m430 = common.model("m430")
    # The peer gets its own copy (its own inode, so its own page-cache pages): evicting one side's
    # file for the cold measurement must not be undone by the other side mapping/locking the same pages.
    peer_m430 = work / "peer-m430.gguf"
    shutil.copyfile(m430, peer_m430)
    cfg = servers.toml_config(work / "ebb-a.toml", [ebb_model("m430", m430)], LONG)
    mdir = work / "empty"
    mdir.mkdir(exist_ok=True)
    # debug log: the runner logs when it asks the supervisor for a KV snapshot and when the state
    # arrives (two lines per request), which times the snapshot transfer
    servers.start_ebb(mdir, EBB_PORT, work / "ebb-a.log", config=cfg, env={"EBB_LOG": "debug"})
    peer = servers.start_peer(peer_args(peer_m430, extra=["--sleep-idle-seconds", sleep_s]), PEER_PORT, work / "peer-a.log")
    E = loadgen.Target("ebb", EBB_PORT, "m430")
    P = loadgen.Target("peer", PEER_PORT)
    count = common.peer_tokenizer(PEER_PORT)

    # ---- (a) follow-up turn ----
    body, ntok = common.prompt_of_tokens(n_follow, count)
    conv = "User: " + body + "\nAssistant:"
    log(f"(a) conversation prompt: {count(conv)} tokens")
    first = {}
    for t in (E, P):
        t0 = time.time()
        r = req(t, conv, 16, stream=False)
        first[t.kind] = {"prompt_tokens": r.prompt_tokens, "prefill_s": r.prompt_s, "total_s": r.total, "text": r.text}
        log(f"(a) turn 1 on {t.kind}: {r.prompt_tokens} prompt tokens, prefill {r.prompt_s:.2f} s, total {time.time() - t0:.2f} s")
    hist = {k: conv + v["text"] for k, v in first.items()}
    qn = [0]

    def follow(t):
        qn[0] += 1
        p = hist[t.kind] + "\nUser: " + common.words(8, 1000 + qn[0]) + "\nAssistant:"
        r = req(t, p, 4, stream=True)
        return {"ttft": r.ttft, "total": r.total, "prompt_tokens": r.prompt_tokens, "prefill_s": r.prompt_s,
                "load_s": r.raw_final.get("load_duration", 0) / 1e9 if t.kind == "ebb" else None}

    def ebb_round():
        out = {"ready": follow(E)}
        admin(EBB_PORT, "release-kv", {"model": "m430"})
        assert ps_entry(EBB_PORT, "m430")["tier"] == "warm"
        time.sleep(IDLE)
        out["warm"] = follow(E)
        admin(EBB_PORT, "unload", {"model": "m430"})
        wait_until(lambda: ps_entry(EBB_PORT, "m430") is None and "m430" in host_models(EBB_PORT), 30, "ebb host tier")
        time.sleep(IDLE)
        out["host"] = follow(E)
        return out

    def peer_round():
        slept = wait_until(lambda: peer_sleeping(PEER_PORT), 120, "llama-server sleep")
        out = {"sleep": follow(P), "waited_for_sleep_s": slept}
        out["ready"] = follow(P)  # right after: still awake, prompt cache in the slot
        return out

    # Diagnostic: ebb's ready follow-up before any snapshot exists (nothing to fetch)
    nosnap = [common.guarded(lambda: follow(E), "ebb-nosnap") for _ in range(3)]

    a = loadgen.interleave(runs, {"ebb": ebb_round, "peer": peer_round}, wrap=common.guarded)
    A = {
        "conversation_tokens": first["peer"]["prompt_tokens"], "turn1": first, "runs": a,
        "ebb_ready_ttft": med([x["ready"]["ttft"] for x in a["ebb"]]),
        "ebb_warm_ttft": med([x["warm"]["ttft"] for x in a["ebb"]]),
        "ebb_host_ttft": med([x["host"]["ttft"] for x in a["ebb"]]),
        "ebb_warm_prefilled_tokens": med([x["warm"]["prompt_tokens"] for x in a["ebb"]]),
        "ebb_host_prefilled_tokens": med([x["host"]["prompt_tokens"] for x in a["ebb"]]),
        "peer_sleep_ttft": med([x["sleep"]["ttft"] for x in a["peer"]]),
        "peer_ready_ttft": med([x["ready"]["ttft"] for x in a["peer"]]),
        "peer_sleep_prefilled_tokens": med([x["sleep"]["prompt_tokens"] for x in a["peer"]]),
        "ebb_ready_nosnap_runs": nosnap,
        "ebb_ready_nosnap_ttft": med([x["ttft"] for x in nosnap]),
        "snapshot_fetches": snapshot_fetches(work / "ebb-a.log"),
    }
    f = A["snapshot_fetches"]
    A["snapshot_fetch_s"] = med([x["seconds"] for x in f])
    A["snapshot_fetch_bytes"] = med([x["bytes"] for x in f])
    res["a"] = A
    log(f"(a) {A['ebb_warm_ttft']=} {A['ebb_host_ttft']=} {A['peer_sleep_ttft']=}")

    # ---- (b) wake overhead, 8-token request ----
    q = "User: " + common.words(12, 5) + "\nAssistant:"

    def lat(t, n=1):
        return [req(t, q, 8, stream=False).total for _ in range(n)]

    def ebb_round_b():
        lat(E)  # the slot now holds q
        ready = med(lat(E, 3))
        admin(EBB_PORT, "unload", {"model": "m430"})
        wait_until(lambda: ps_entry(EBB_PORT, "m430") is None and "m430" in host_models(EBB_PORT), 30, "ebb host tier")
        time.sleep(IDLE)
        host = lat(E)[0]
        admin(EBB_PORT, "unload", {"model": "m430", "tier": "cold"})
        wait_until(lambda: ps_entry(EBB_PORT, "m430") is None and "m430" not in host_models(EBB_PORT), 30, "ebb cold tier")
        servers.evict_file(str(m430))
        cached = servers.cached_bytes(str(m430))
        time.sleep(IDLE)
        cold = lat(E)[0]
        return {"ready": ready, "host": host, "cold": cold, "cold_cached_bytes_before": cached,
                "host_overhead": host - ready, "cold_overhead": cold - ready}

    def peer_round_b():
        wait_until(lambda: peer_sleeping(PEER_PORT), 120, "llama-server sleep")
        wake = lat(P)[0]
        ready = med(lat(P, 3))
        wait_until(lambda: peer_sleeping(PEER_PORT), 120, "llama-server sleep")
        servers.evict_file(str(peer_m430))
        cached = servers.cached_bytes(str(peer_m430))
        cold = lat(P)[0]
        return {"ready": ready, "wake": wake, "cold": cold, "cold_cached_bytes_before": cached,
                "wake_overhead": wake - ready, "cold_overhead": cold - ready}

    lat(P)
    b = loadgen.interleave(runs, {"ebb": ebb_round_b, "peer": peer_round_b}, wrap=common.guarded)
    B = {"runs": b, "model_file_bytes": m430.stat().st_size}
    for k in ("ready", "host", "cold", "host_overhead", "cold_overhead"):
        B["ebb_" + k] = med([x[k] for x in b["ebb"]])
    for k in ("ready", "wake", "cold", "wake_overhead", "cold_overhead"):
        B["peer_" + k] = med([x[k] for x in b["peer"]])
    res["b"] = B
    log(f"(b) ebb host overhead {B['ebb_host_overhead']:.3f}, cold {B['ebb_cold_overhead']:.3f}; "
        f"peer wake {B['peer_wake_overhead']:.3f}, cold {B['peer_cold_overhead']:.3f}")

    # ---- (r) measured reclaim on m430: RSS before/after release-kv ----
    lat(E)
    e = ps_entry(EBB_PORT, "m430")
    res.setdefault("r", {})["m430_real"] = {
        **measure_release(EBB_PORT, "m430"), "num_ctx": 4096,
        "kv_bytes": e["kv_bytes"], "compute_bytes": e["compute_bytes"], "weights_bytes": e["weights_bytes"],
        "baseline_bytes": e["baseline_bytes"]}
    servers.stop(peer)
    return e["estimated_bytes"]


def snapshot_fetches(log: Path) -> list[dict]:
    """From ebb's debug log: for each request that asked for a KV snapshot, the time from asking
    to holding the state, and its size."""
    import re
    from datetime import datetime
    asks, out = {}, []
    pat = re.compile(r"^\[(\S+ \S+)\] \[ebb\] \[debug\] runner: (?:request (\d+) asks for a snapshot \((\d+) prompt tokens\)"
                     r"|restore answer for request (\d+): (\d+) bytes)")
    for line in log.read_text(errors="replace").splitlines():
        m = pat.match(line)
        if not m:
            continue
        t = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f").timestamp()
        if m.group(2):
            asks[m.group(2)] = (t, int(m.group(3)))
        elif m.group(4) in asks:
            t0, n = asks.pop(m.group(4))
            out.append({"request": int(m.group(4)), "prompt_tokens": n, "seconds": t - t0, "bytes": int(m.group(5))})
    return out


# ---------------------------------------------------------------------------------------------
# Baseline mode: the ebb side of (a), (b) and (c) on two ebb binaries ("new" = EBB_BIN, "old" =
# --baseline-bin), both servers up at once, interleaved (new, old, old, new, ...).
SIDES = ("new", "old")


def part_a_b_baseline(work, runs, n_follow, res, base):
    port = {"new": EBB_PORT, "old": EBB_BASE_PORT}
    # Each side its own copy of the file (own inode, own page-cache pages, own mlock): evicting one
    # side's file for the cold measurement must not be undone by the other side's lock.
    files, logs = {}, {}
    for side in SIDES:
        files[side] = work / f"{side}-m430.gguf"
        shutil.copyfile(common.model("m430"), files[side])
        logs[side] = work / f"ebb-a-{side}.log"
        cfg = servers.toml_config(work / f"ebb-a-{side}.toml", [ebb_model("m430", files[side])], LONG)
        servers.start_ebb(work / "empty", port[side], logs[side], config=cfg, env={"EBB_LOG": "debug"},
                          exe=base if side == "old" else None)
    T = {side: loadgen.Target("ebb", port[side], "m430") for side in SIDES}
    count = common.ebb_tokenizer(EBB_PORT, "m430")

    # ---- (a) follow-up turn ----
    body, _ = common.prompt_of_tokens(n_follow, count)
    conv = "User: " + body + "\nAssistant:"
    log(f"(a) conversation prompt: {count(conv)} tokens (ebb's count)")
    first, hist = {}, {}
    qn = {side: 0 for side in SIDES}  # the same follow-up texts, in the same order, on both sides
    for side in SIDES:
        r = req(T[side], conv, 16, stream=False)
        first[side] = {"prompt_tokens": r.prompt_tokens, "prefill_s": r.prompt_s, "total_s": r.total, "text": r.text}
        hist[side] = conv + r.text
        log(f"(a) turn 1 on {side}: {r.prompt_tokens} prompt tokens, prefill {r.prompt_s:.2f} s")

    def follow(side):
        qn[side] += 1
        p = hist[side] + "\nUser: " + common.words(8, 1000 + qn[side]) + "\nAssistant:"
        r = req(T[side], p, 4, stream=True)
        return {"ttft": r.ttft, "total": r.total, "prompt_tokens": r.prompt_tokens, "prefill_s": r.prompt_s,
                "load_s": r.raw_final.get("load_duration", 0) / 1e9}

    def to_host(side):
        admin(port[side], "unload", {"model": "m430"})
        wait_until(lambda: ps_entry(port[side], "m430") is None and "m430" in host_models(port[side]), 30,
                   f"{side} host tier")

    def round_a(side):
        def f():
            out = {"ready": follow(side)}
            admin(port[side], "release-kv", {"model": "m430"})
            assert ps_entry(port[side], "m430")["tier"] == "warm"
            time.sleep(IDLE)
            out["warm"] = follow(side)
            to_host(side)
            time.sleep(IDLE)
            out["host"] = follow(side)
            return out
        return f

    a = loadgen.interleave(runs, {side: round_a(side) for side in SIDES}, wrap=common.guarded)
    res["a"] = {"conversation_tokens": first["new"]["prompt_tokens"], "turn1": first, "runs": a,
                "snapshot_fetches": {side: snapshot_fetches(logs[side]) for side in SIDES}}
    for k, what in (("ready", "resident (reference)"), ("warm", "after release-kv"), ("host", "after unload (host tier)")):
        common.add_figure(res, f"a_{k}_ttft", f"(a) follow-up turn TTFT, {what}", "s", False,
                          *[[x[k]["ttft"] for x in a[side]] for side in SIDES])
    for k in ("warm", "host"):
        common.add_figure(res, f"a_{k}_prefilled", f"(a) tokens prefilled after the restore, {k}", "tokens", False,
                          *[[x[k]["prompt_tokens"] for x in a[side]] for side in SIDES])
    common.add_figure(res, "a_snapshot_fetch", "(a) snapshot fetch (debug log: ask → state held), per fetch with a state",
                      "ms", False, *[[x["seconds"] for x in res["a"]["snapshot_fetches"][side] if x["bytes"]] for side in SIDES],
                      scale=1e3)

    # ---- (b) wake overhead, 8-token request ----
    q = "User: " + common.words(12, 5) + "\nAssistant:"

    def lat(side, n=1):
        return [req(T[side], q, 8, stream=False).total for _ in range(n)]

    def round_b(side):
        def f():
            lat(side)  # the slot now holds q
            ready = med(lat(side, 3))
            to_host(side)
            time.sleep(IDLE)
            host = lat(side)[0]
            admin(port[side], "unload", {"model": "m430", "tier": "cold"})
            wait_until(lambda: ps_entry(port[side], "m430") is None and "m430" not in host_models(port[side]), 30,
                       f"{side} cold tier")
            servers.evict_file(str(files[side]))
            cached = servers.cached_bytes(str(files[side]))
            time.sleep(IDLE)
            cold = lat(side)[0]
            return {"ready": ready, "host": host, "cold": cold, "cold_cached_bytes_before": cached,
                    "host_overhead": host - ready, "cold_overhead": cold - ready}
        return f

    b = loadgen.interleave(runs, {side: round_b(side) for side in SIDES}, wrap=common.guarded)
    res["b"] = {"runs": b, "model_file_bytes": files["new"].stat().st_size}
    for k, what in (("ready", "ready (reference)"), ("host", "from the host tier"), ("cold", "from a cold file"),
                    ("host_overhead", "wake overhead from the host tier (host − ready)"),
                    ("cold_overhead", "wake overhead from a cold file (cold − ready)")):
        common.add_figure(res, f"b_{k}", f"(b) 8-token request, {what}", "s", False, *[[x[k] for x in b[side]] for side in SIDES])
    lat("new")
    est = ps_entry(EBB_PORT, "m430")["estimated_bytes"]
    for side in SIDES:
        files[side].unlink(missing_ok=True)
    return est


def part_c_baseline(work, runs, est_one, res, base):
    a, b = common.model("m430"), common.model("m430b")
    port = {"new": EBB_SWAP_PORT, "old": EBB_BASE_SWAP_PORT}
    budget = int(est_one * 1.2)  # fits one model (with its KV), not two
    cfg = servers.toml_config(work / "ebb-c.toml", [ebb_model("m430", a), ebb_model("m430b", b)], LONG)
    for side in SIDES:
        servers.start_ebb(work / "empty", port[side], work / f"ebb-c-{side}.log", config=cfg, device_memory=str(budget),
                          headroom="0", exe=base if side == "old" else None)
    q = "User: " + common.words(12, 5) + "\nAssistant:"
    T = lambda side, m: loadgen.Target("ebb", port[side], m)  # noqa: E731
    for side in SIDES:
        for m in ("m430", "m430b", "m430"):
            req(T(side, m), q, 8, stream=False)

    def rnd(side):
        def f():
            sw = [req(T(side, m), q, 8, stream=False).total for m in ("m430b", "m430")]
            rd = [req(T(side, "m430"), q, 8, stream=False).total for _ in range(2)]
            return {"swap": sw, "ready": rd, "swap_med": med(sw), "ready_med": med(rd), "overhead": med(sw) - med(rd)}
        return f

    c = loadgen.interleave(runs, {side: rnd(side) for side in SIDES}, wrap=common.guarded)
    res["c"] = {"runs": c, "ebb_device_memory": budget, "estimated_one_model": est_one}
    for k, what in (("swap_med", "alternating two models, budget fits one"), ("ready_med", "same model twice (ready)"),
                    ("overhead", "swap overhead (alternating − ready)")):
        common.add_figure(res, f"c_{k}", f"(c) 8-token request, {what}", "s", False, *[[x[k] for x in c[side]] for side in SIDES])


def main_baseline(args, parts, work, res, base_src):
    base = common.snapshot_base(work, base_src)
    res["baseline"] = {"new": servers.ebb_fingerprint(), "old": servers.ebb_fingerprint(base)}
    log(f"work dir {work}; machine {res['machine']}; baseline {res['baseline']['old']}")
    (work / "empty").mkdir(exist_ok=True)
    try:
        if parts - {"a", "b", "c"}:
            res["notes"].append(f"baseline mode runs parts a (with b) and c only; skipped {sorted(parts - {'a', 'b', 'c'})}")
        est = part_a_b_baseline(work, args.runs, args.followup_tokens, res, base)
        servers._cleanup()
        if "c" in parts:
            part_c_baseline(work, args.runs, est, res, base)
    except Exception:  # noqa: BLE001 - keep what was measured
        common.note_abort(res)
    finally:
        servers._cleanup()
    common.finish_run(res, work, args, report, [work / "ebb", work / "ebb-base", *work.glob("*.gguf")])


def report_baseline(res, args) -> str:
    A = res.get("a", {})
    what = (f"parts: (a) follow-up turn of a {A.get('conversation_tokens', '?')}-token chat on m430 after `release-kv` / "
            f"`unload`, (b) wake overhead of an 8-token request from the host tier and a cold file, (c) swap overhead "
            f"alternating two 430M models under `--device-memory` 1.2× one model's estimate, `--headroom 0`; each side "
            f"idles {args.idle} s before a measured wake; (a)/(b) give each binary its own copy of the model file. As in "
            f"the peer mode (see the script's docstring), with the peer's part left out.")
    return common.baseline_report(res, args, "Memory-manager benchmarks: ebb (new) vs ebb (old binary)", what)


# ---------------------------------------------------------------------------------------------
def part_c(work, runs, est_one, res):
    a, b = common.model("m430"), common.model("m430b")
    sdir = work / "swap"
    sdir.mkdir(exist_ok=True)
    for n, p in (("m430", a), ("m430b", b)):
        (sdir / f"{n}.gguf").symlink_to(p)
    budget = int(est_one * 1.2)  # fits one model (with its KV), not two
    cfg = servers.toml_config(work / "ebb-c.toml", [ebb_model("m430", a), ebb_model("m430b", b)], LONG)
    ebb = servers.start_ebb(work / "empty", EBB_SWAP_PORT, work / "ebb-c.log", config=cfg, device_memory=str(budget), headroom="0")
    router = servers.start_peer(["--models-dir", sdir, "--models-max", 1, "-t", THREADS, "-tb", THREADS, "-c", 4096,
                                 "-np", 1, "-b", 512, "-ub", 512], ROUTER_PORT, work / "router-c.log")
    q = "User: " + common.words(12, 5) + "\nAssistant:"
    T = {"ebb": lambda m: loadgen.Target("ebb", EBB_SWAP_PORT, m), "peer": lambda m: loadgen.Target("peer", ROUTER_PORT, m)}
    for k in T:
        for m in ("m430", "m430b", "m430"):
            req(T[k](m), q, 8, stream=False)

    def rnd(kind):
        def f():
            sw = [req(T[kind](m), q, 8, stream=False).total for m in ("m430b", "m430")]
            rd = [req(T[kind]("m430"), q, 8, stream=False).total for _ in range(2)]
            return {"swap": sw, "ready": rd, "swap_med": med(sw), "ready_med": med(rd), "overhead": med(sw) - med(rd)}
        return f

    c = loadgen.interleave(runs, {"ebb": rnd("ebb"), "peer": rnd("peer")}, wrap=common.guarded)
    C = {"runs": c, "ebb_device_memory": budget, "estimated_one_model": est_one,
         "ebb_mem_after": servers.http_json(EBB_SWAP_PORT, "GET", "/api/memory")[1]}
    for k in ("ebb", "peer"):
        C[k + "_swap"] = med([x for r in c[k] for x in r["swap"]])
        C[k + "_ready"] = med([x for r in c[k] for x in r["ready"]])
        C[k + "_overhead"] = C[k + "_swap"] - C[k + "_ready"]
    res["c"] = C
    log(f"(c) ebb swap {C['ebb_swap']:.3f} (overhead {C['ebb_overhead']:.3f}); peer {C['peer_swap']:.3f} ({C['peer_overhead']:.3f})")
    servers.stop(ebb)
    servers.stop(router)


# ---------------------------------------------------------------------------------------------
def measure(path, num_ctx, num_parallel=1):
    import json
    import subprocess
    out = subprocess.run([str(servers.EBB), "runner", "--measure", "--params",
                          json.dumps({"path": str(path), "num_ctx": num_ctx, "num_parallel": num_parallel})],
                         capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise RuntimeError(f"ebb runner --measure failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def part_r(work, real_7b, res):
    R = res.setdefault("r", {})
    p7 = work / "llama7b-q4_0.gguf"
    t0 = time.time()
    servers.ensure_model(p7, "7B", "q4_0")
    R["synth_7b_s"] = time.time() - t0
    R["file_7b_bytes"] = p7.stat().st_size
    try:
        for name, path in (("7B-q4_0", p7), ("m430", common.model("m430")), ("m120", common.model("m120")), ("t20", common.model("t20"))):
            m = measure(path, 4096)
            m["fraction"] = (m["kv"] + m["compute"]) / (m["weights"] + m["kv"] + m["compute"])
            R.setdefault("dry", {})[name] = m
            log(f"(r) dry run {name} @4096: weights {m['weights'] / 2**20:.0f} MiB kv {m['kv'] / 2**20:.0f} compute "
                f"{m['compute'] / 2**20:.0f} -> {m['fraction']:.1%}")
        if real_7b:
            cfg = servers.toml_config(work / "ebb-7b.toml", [ebb_model("llama7b", p7)], LONG)
            # Eager KV zeroing: the whole cache resident, as a GPU allocates it. By default a CPU
            # runner's KV is resident only where written (engine/lazy_zero_clear.cpp).
            ebb = servers.start_ebb(work / "empty", EBB_7B_PORT, work / "ebb-7b.log", config=cfg,
                                    env={"EBB_EAGER_KV_ZERO": "1"})
            t = loadgen.Target("ebb", EBB_7B_PORT, "llama7b")
            r = req(t, "User: " + common.words(12, 5) + "\nAssistant:", 4, stream=False)
            R["7b_real"] = {**measure_release(EBB_7B_PORT, "llama7b"), "first_request_s": r.total}
            before, after = R["7b_real"]["before"], R["7b_real"]["after"]
            log(f"(r) 7B real: RSS {before['VmRSS'] / 2**20:.0f} -> {after['VmRSS'] / 2**20:.0f} MiB")
            servers.stop(ebb)
    finally:
        p7.unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------
def part_f(work, res, sizes, quants, ctxs, pars, fill=True):
    entries = []
    for s in sizes:
        for qn in quants:
            key = s if qn == "q8_0" else f"{s}-q4"
            path = common.model(key)
            for c in ctxs:
                for p in pars:
                    entries.append(ebb_model(f"{s}-{qn}-c{c}-p{p}", path, ctx=c, np_=p))
    cfg = servers.toml_config(work / "ebb-f.toml", entries, LONG)
    # The estimate is of bytes allocated; a lazily zeroed KV cache is resident only where written,
    # so the comparison with RSS needs every allocated page faulted in.
    ebb = servers.start_ebb(work / "empty", EBB_FP_PORT, work / "ebb-f.log", config=cfg,
                            env={"EBB_EAGER_KV_ZERO": "1"})
    rows = []
    for i, m in enumerate(entries):
        # ≥ 512 tokens: one full batch. A different prompt for every entry, so that no KV snapshot
        # saved by an earlier entry of the same file matches (it would be restored, not prefilled).
        prompt = "User: " + common.words(400, 11 + i) + "\nAssistant:"
        t = loadgen.Target("ebb", EBB_FP_PORT, m["name"])
        try:
            r = req(t, prompt, 2, stream=False)
            e = ps_entry(EBB_FP_PORT, m["name"])
            d = servers.rss_detail(e["runner_pid"])
            row = {"name": m["name"], "prompt_tokens": r.prompt_tokens, "estimated": e["estimated_bytes"],
                   "actual_ps": e["actual_bytes"], **d,
                   "weights": e["weights_bytes"], "kv": e["kv_bytes"], "compute": e["compute_bytes"],
                   "baseline": e["baseline_bytes"], "heap": e.get("heap_bytes", 0)}
            row["error_batch"] = (row["VmRSS"] - row["estimated"]) / row["estimated"]
            if fill:
                # The estimate reserves the worst case: a slot whose context is full, where the
                # attention mask in the compute buffer spans all num_ctx cells. A prompt longer
                # than the context is truncated to it (Ollama's default).
                rf = req(t, "User: " + common.words(m["num_ctx"], 500 + i) + "\nAssistant:", 2, stream=False)
                row["prompt_tokens_full"] = rf.prompt_tokens
                row["VmRSS_full"] = servers.rss_detail(e["runner_pid"])["VmRSS"]
                row["error"] = (row["VmRSS_full"] - row["estimated"]) / row["estimated"]
            else:
                row["error"] = row["error_batch"]
            rows.append(row)
            log(f"(f) {m['name']}: est {row['estimated'] / 2**20:.1f} MiB, RSS {row['VmRSS'] / 2**20:.1f} MiB "
                f"({row['error_batch']:+.2%}), at a full context {row.get('VmRSS_full', 0) / 2**20:.1f} MiB ({row['error']:+.2%})")
        except Exception as ex:  # noqa: BLE001 - report, go on
            rows.append({"name": m["name"], "failure": repr(ex)})
            log(f"(f) {m['name']}: FAILED {ex!r}")
        try:
            admin(EBB_FP_PORT, "unload", {"model": m["name"], "tier": "cold"})
        except Exception as ex:  # noqa: BLE001
            log(f"(f) unload {m['name']} failed: {ex!r}")
    res["f"] = {"rows": rows, "fill": fill, "prompt_note": "≥ 512 prompt tokens (one full batch), 2 generated"
                + ("; then a prompt that fills the slot's context" if fill else "")}
    servers.stop(ebb)


# ---------------------------------------------------------------------------------------------
def part_k(work, res, ctxs=(512, 1024, 2048, 4096, 8192), n=3):
    """Where wake time goes: ebb's load_duration after release-kv (context re-created, weights
    resident) and after unload (new runner: load + context), against the KV size."""
    m430 = common.model("m430")
    ents = [ebb_model(f"m430-c{c}", m430, ctx=c) for c in ctxs]
    cfg = servers.toml_config(work / "ebb-k.toml", ents, LONG)
    ebb = servers.start_ebb(work / "empty", EBB_FP_PORT, work / "ebb-k.log", config=cfg)
    q = "User: hello there\nAssistant:"
    rows = []
    for m in ents:
        t = loadgen.Target("ebb", EBB_FP_PORT, m["name"])
        req(t, q, 2, stream=False)

        def one_kind(op):
            def f():
                out = []
                for _ in range(n):
                    admin(EBB_FP_PORT, op, {"model": m["name"]})
                    if op == "unload":
                        wait_until(lambda: ps_entry(EBB_FP_PORT, m["name"]) is None, 30, "unload")
                    time.sleep(IDLE)
                    out.append(req(t, q, 2, stream=False).raw_final.get("load_duration", 0) / 1e9)
                return {"load_s": out}
            return f
        w = common.guarded(one_kind("release-kv"), "ebb-k")
        h = common.guarded(one_kind("unload"), "ebb-k")
        e = ps_entry(EBB_FP_PORT, m["name"])
        rows.append({"name": m["name"], "num_ctx": m["num_ctx"], "kv_bytes": e["kv_bytes"], "warm_load_s": med(w["load_s"]),
                     "host_load_s": med(h["load_s"]), "warm_runs": w["load_s"], "host_runs": h["load_s"]})
        log(f"(k) {m['name']}: KV {e['kv_bytes'] / 2**20:.0f} MiB, warm→ready {rows[-1]['warm_load_s']:.3f} s, "
            f"host→ready {rows[-1]['host_load_s']:.3f} s")
        admin(EBB_FP_PORT, "unload", {"model": m["name"], "tier": "cold"})
    servers.stop(ebb)
    res["k"] = {"rows": rows}


# ---------------------------------------------------------------------------------------------
def report(res, args) -> str:
    if res.get("baseline"):
        return report_baseline(res, args)
    m = res["machine"]
    md = [common.machine_header(m, "Memory-manager benchmarks: ebb vs llama-server (same pinned llama.cpp)")]
    md.append(f"- command: `{res.get('command', 'bench/memory_bench.py')}`\n"
              f"- peer: llama-server / llama-bench built by `bench/build-peer.sh` from the same pinned llama.cpp "
              f"(node-llama-cpp {servers.LLAMA_VERSION}, commit 80fb11a + PR-22566), same CPU flags.\n"
              f"- models: synthetic llamas from `ebb synth` (printable vocabulary); threads {THREADS} on both; "
              f"num_ctx 4096, 1 slot, batch/ubatch 512 on both; flash attention auto on both.\n"
              + (f"- every figure is the median of {args.runs} interleaved runs (ebb, peer, peer, ebb, ...); "
                 f"measured requests use a new TCP connection each.\n" if any(k in res for k in "abc") else "") +
              f"- other engineers share this 2-core machine. Each measurement starts only when other processes use "
              f"< {common.QUIET_CORES} cores (2 s window, ≤ 300 s wait) and is repeated (≤ 2 more tries) if they used "
              f"> {common.DIRTY_CORES} cores during it (own CPU time of every process outside our process tree, from /proc/*/stat): {common.quiet_summary(res.get('quiet_log'), res.get('no_guard', False))}.\n"
              f"- load average at end: {res.get('loadavg_end', '?')}; CPU pressure at end: `{res.get('cpu_pressure_end', '')}` "
              "\n")
    rows = []

    def row(fig, e, p, target, met, unit=" s", rt=None):
        r = rt if rt is not None else ratio(e, p)
        rows.append([fig, fmt(e, unit), fmt(p, unit), fmt(r, "×", 3) if r is not None else "—", target,
                     "—" if met is None else ("yes" if met else "**no**")])

    if "a" in res:
        A = res["a"]
        n = A["conversation_tokens"]
        row(f"(a) follow-up TTFT after release-kv ({n}-token chat) vs peer after sleep",
            A["ebb_warm_ttft"], A["peer_sleep_ttft"], "≤ 0.15 s", A["ebb_warm_ttft"] <= 0.15)
        row(f"(a) follow-up TTFT after unload to host ({n}-token chat) vs peer after sleep",
            A["ebb_host_ttft"], A["peer_sleep_ttft"], "≤ 0.35 s", A["ebb_host_ttft"] <= 0.35)
        row("(a) follow-up TTFT, model ready (reference)", A["ebb_ready_ttft"], A["peer_ready_ttft"], "—", None)
        ow = med([x["warm"]["ttft"] - x["ready"]["ttft"] for x in A["runs"]["ebb"]])
        oh = med([x["host"]["ttft"] - x["ready"]["ttft"] for x in A["runs"]["ebb"]])
        op = med([x["sleep"]["ttft"] - x["ready"]["ttft"] for x in A["runs"]["peer"]])
        row("(a) follow-up TTFT over the same server's ready TTFT: ebb after release-kv vs peer after sleep", ow, op, "—", None)
        row("(a) follow-up TTFT over the same server's ready TTFT: ebb after unload vs peer after sleep", oh, op, "—", None)
        row("(a) diagnostic: ebb ready follow-up TTFT before any snapshot is cached", A["ebb_ready_nosnap_ttft"], None, "—", None)
    if "b" in res:
        B = res["b"]
        row("(b) 8-token request, ready (reference)", B["ebb_ready"], B["peer_ready"], "—", None)
        row("(b) wake overhead: ebb host tier vs peer sleep→wake", B["ebb_host_overhead"], B["peer_wake_overhead"],
            "≤ 0.12 s", B["ebb_host_overhead"] <= 0.12)
        row("(b) wake overhead from a cold file (page cache evicted)", B["ebb_cold_overhead"], B["peer_cold_overhead"],
            "—", None)
    if "c" in res:
        C = res["c"]
        row("(c) 8-token request alternating two models, budget fits one", C["ebb_swap"], C["peer_swap"], "—", None)
        row("(c) swap overhead (alternating − ready)", C["ebb_overhead"], C["peer_overhead"], "≤ 0.5× peer",
            ratio(C["ebb_overhead"], C["peer_overhead"]) <= 0.5)
    if rows:
        md.append("\n## Summary\n\n")
        md.append(common.md_table(rows, ["figure", "ebb", "llama-server", "ebb/peer", "target", "met?"]))

    if "a" in res:
        A = res["a"]
        sent = [x for x in A.get("snapshot_fetches", []) if x["bytes"]]
        md.append(f"\n## (a) Follow-up turn\n\nA raw-prompt chat (`User: …\\nAssistant:`) of {A['conversation_tokens']} tokens; "
                  f"turn 1 prefill took {A['turn1']['ebb']['prefill_s']:.2f} s on ebb and {A['turn1']['peer']['prefill_s']:.2f} s on "
                  f"the peer. Each follow-up appends a new 8-word user line to turn 1 (a different one every time) and "
                  f"streams 4 tokens; TTFT is measured at the client. ebb stays idle for "
                  f"{res['args'].get('idle', 0)} s after `release-kv` and after `unload` before the measured request.\n\n"
                  f"- ebb after `release-kv` (runner alive, KV snapshotted to RAM, then restored): {fmt(A['ebb_warm_ttft'], ' s')}, "
                  f"prefilled {A['ebb_warm_prefilled_tokens']} tokens after the restore\n"
                  f"- ebb after `unload` (runner exited, file in the host tier, snapshot restored in a new runner): "
                  f"{fmt(A['ebb_host_ttft'], ' s')}, prefilled {A['ebb_host_prefilled_tokens']} tokens\n"
                  f"- llama-server after `--sleep-idle-seconds {args.sleep}` put it to sleep: {fmt(A['peer_sleep_ttft'], ' s')}, "
                  f"prefilled {A['peer_sleep_prefilled_tokens']} tokens (the whole conversation)\n"
                  f"- resident on both (reference): ebb {fmt(A['ebb_ready_ttft'], ' s')}, peer {fmt(A['peer_ready_ttft'], ' s')}; "
                  f"ebb before any snapshot was cached: {fmt(A['ebb_ready_nosnap_ttft'], ' s')}\n"
                  f"- snapshot requests (ebb debug log: the runner asks the supervisor for a snapshot → has the answer): "
                  f"{len(A['snapshot_fetches'])}; {len(sent)} answered with a state, median {fmt(med([x['seconds'] for x in sent]), ' s')} "
                  f"for {(med([x['bytes'] for x in sent]) or 0) / 2**20:.0f} MiB "
                  f"(min {fmt(min([x['seconds'] for x in sent], default=None), ' s')}, max {fmt(max([x['seconds'] for x in sent], default=None), ' s')}); "
                  f"{len(A['snapshot_fetches']) - len(sent)} answered 'nothing better than your slot' in "
                  f"{fmt(med([x['seconds'] for x in A['snapshot_fetches'] if not x['bytes']]), ' s')}.\n")
        md.append("\nPer run (TTFT, s):\n\n")
        md.append(common.md_table([[i + 1, fmt(e["ready"]["ttft"]), fmt(e["warm"]["ttft"]), fmt(e["warm"]["load_s"]),
                                    fmt(e["warm"]["prefill_s"]), fmt(e["host"]["ttft"]), fmt(e["host"]["load_s"]),
                                    fmt(e["host"]["prefill_s"]), fmt(p["ready"]["ttft"]), fmt(p["sleep"]["ttft"]),
                                    fmt(p["sleep"]["prefill_s"])]
                                   for i, (e, p) in enumerate(zip(A["runs"]["ebb"], A["runs"]["peer"]))],
                                  ["run", "ebb ready", "ebb warm", "(load)", "(prompt eval)", "ebb host", "(load)", "(prompt eval)",
                                   "peer ready", "peer after sleep", "(prompt eval)"]))
        md.append("\n(load = ebb's `load_duration`, prompt eval = `prompt_eval_duration` / llama-server `timings.prompt_ms`, "
                  "server side)\n")
    if "b" in res:
        B = res["b"]
        md.append(f"\n## (b) Wake overhead\n\nLatency of an 8-token request (non-streaming, new connection) minus the same request on a "
                  f"ready model. ebb: after `unload` (host tier: runner exited, file locked in RAM) and after `unload` with "
                  f"`tier: cold` followed by `posix_fadvise(DONTNEED)` on the file. Peer: after `--sleep-idle-seconds` put it "
                  f"to sleep, and asleep with the file evicted the same way. ebb stays idle for {res['args'].get('idle', 0)} s "
                  f"before each measured wake. Model file {B['model_file_bytes'] / 2**20:.0f} MiB.\n\n")
        md.append(common.md_table([[i + 1, fmt(e["ready"]), fmt(e["host"]), fmt(e["cold"]), fmt(p["ready"]), fmt(p["wake"]), fmt(p["cold"])]
                                   for i, (e, p) in enumerate(zip(B["runs"]["ebb"], B["runs"]["peer"]))],
                                  ["run", "ebb ready", "ebb host", "ebb cold", "peer ready", "peer wake", "peer cold"]))
    if "c" in res:
        C = res["c"]
        md.append(f"\n## (c) Swap overhead\n\nTwo different 430M q8_0 models (same shape, different seeds), 8-token requests "
                  f"alternating A B A B. ebb: `--device-memory {C['ebb_device_memory']} --headroom 0` "
                  f"(1.2× one model's estimate of {C['estimated_one_model']} bytes). Peer: llama-server router mode "
                  f"`--models-dir DIR --models-max 1` (each model in its own child llama-server). Overhead = median "
                  f"alternating latency − median ready latency (same model twice in a row), same server.\n\n"
                  f"- ebb: alternating {fmt(C['ebb_swap'], ' s')}, ready {fmt(C['ebb_ready'], ' s')}, overhead {fmt(C['ebb_overhead'], ' s')}\n"
                  f"- peer: alternating {fmt(C['peer_swap'], ' s')}, ready {fmt(C['peer_ready'], ' s')}, overhead {fmt(C['peer_overhead'], ' s')}\n")
    if "r" in res:
        R = res["r"]
        md.append("\n## KV-release reclaim fraction\n\n(kv + compute) / (weights + kv + compute) from the dry run "
                  "(`ebb runner --measure`, num_ctx 4096, 1 slot, f16 KV), and measured: runner RSS before and after "
                  "`release-kv` (after a request). m430 runs as ebb does by default, where a CPU runner's KV is resident "
                  "only where cells were written (a short request here); the 7B runs with `EBB_EAGER_KV_ZERO=1`, so its whole "
                  "KV cache is resident, as a GPU allocates it.\n\n")
        rr = []
        for name, d in R.get("dry", {}).items():
            rr.append([name, "dry run", f"{d['weights'] / 2**20:.0f}", f"{d['kv'] / 2**20:.0f}", f"{d['compute'] / 2**20:.0f}",
                       f"{d['fraction']:.1%}"])
            rep = sum(b["weights"] for b in d.get("buffers", []) if b["buffer"] == "CPU_REPACK")
            if rep:
                w = d["weights"] - rep
                fr = (d["kv"] + d["compute"]) / (w + d["kv"] + d["compute"])
                rr.append([name, "dry run without the CPU_REPACK copy (as on a GPU)", f"{w / 2**20:.0f}", f"{d['kv'] / 2**20:.0f}",
                           f"{d['compute'] / 2**20:.0f}", f"{fr:.1%}"])
        for name, key in (("m430", "m430_real"), ("7B-q4_0", "7b_real")):
            if key in R:
                d = R[key]
                rr.append([name, "measured RSS", f"{d['before']['VmRSS'] / 2**20:.0f} MiB before",
                           f"{d['after']['VmRSS'] / 2**20:.0f} MiB after", "—", f"{d['fraction_rss']:.1%}"])
                rr.append([name, "ebb's estimate (/api/ps)", f"{d['before']['ps_estimated'] / 2**20:.0f} MiB before",
                           f"{d['after']['ps_estimated'] / 2**20:.0f} MiB after", "—", f"{d['fraction_estimated']:.1%}"])
        md.append(common.md_table(rr, ["model", "source", "weights MiB", "KV MiB", "compute MiB", "reclaimed"]))
        if "file_7b_bytes" in R:
            md.append(f"\nThe 7B file ({R['file_7b_bytes'] / 1e9:.2f} GB, llama-2-7B shape: 32 layers, 4096 wide, 32 KV heads) "
                      f"was synthesized in {R['synth_7b_s']:.0f} s and deleted afterwards.\n")
    if "f" in res:
        F = res["f"]
        full = F.get("fill", False)
        md.append("\n## Footprint accuracy\n\nestimate = `/api/ps` `estimated_bytes` (dry-run weights + KV + compute + "
                  "measured runner baseline + the dry run's measured heap); RSS = runner VmRSS after a request with ≥ 512 "
                  "prompt tokens (one full batch)"
                  + ("; RSS full = VmRSS after a second request whose prompt fills the slot's context, the worst case the "
                     "estimate reserves (the attention mask in the compute buffer then spans every cell). The error is "
                     "taken at a full context" if full else "") +
                  ". The whole KV cache is resident (`EBB_EAGER_KV_ZERO=1`), as the estimate assumes. RssFile is the "
                  "mapped GGUF's page cache plus code, RssAnon the private memory (KV, compute, repacked weights, heap).\n\n")
        fr = []
        for r in F["rows"]:
            if "failure" in r:
                fr.append([r["name"], "FAILED", r["failure"][:120]] + [""] * (10 if full else 9))
                continue
            M = 2**20
            fr.append([r["name"], f"{r['weights'] / M:.1f}", f"{r['kv'] / M:.1f}", f"{r['compute'] / M:.1f}", f"{r['baseline'] / M:.1f}",
                       f"{r.get('heap', 0) / M:.1f}", f"{r['estimated'] / M:.1f}", f"{r['VmRSS'] / M:.1f} ({r.get('error_batch', r['error']):+.2%})"]
                      + ([f"{r['VmRSS_full'] / M:.1f}"] if full else [])
                      + [f"{r['RssAnon'] / M:.1f}", f"{r['RssFile'] / M:.1f}", f"{r['error']:+.2%}", "yes" if abs(r["error"]) <= 0.02 else "**no**"])
        md.append(common.md_table(fr, ["model-quant-ctx-parallel", "weights", "KV", "compute", "baseline", "heap", "estimate",
                                       "RSS (error)"] + (["RSS full"] if full else []) + ["RssAnon", "RssFile", "error", "≤ 2%?"]))
        md.append("\n(MiB; error = (RSS" + (" full" if full else "") + " − estimate) / estimate)\n")
        ok = [r for r in F["rows"] if "error" in r]
        if ok:
            errs = sorted(abs(r["error"]) for r in ok)
            md.append(f"\n{sum(e <= 0.02 for e in errs)} of {len(ok)} within 2%; median |error| {med(errs):.2%}, "
                      f"max {errs[-1]:.2%}.\n")
    if "k" in res:
        K = res["k"]["rows"]
        md.append("\n## Where wake time goes: context re-creation against KV size\n\n"
                  "m430 q8_0 (MHA, 28 layers × 1024 wide: 112 KiB of f16 KV per token) at several num_ctx; ebb's "
                  "`load_duration` of a 2-token request right after `release-kv` (weights resident, context re-created) "
                  "and right after `unload` (new runner: load from the locked file + context), median of 3 each.\n\n")
        md.append(common.md_table([[r["num_ctx"], f"{r['kv_bytes'] / 2**20:.0f}", fmt(r["warm_load_s"]), fmt(r["host_load_s"])]
                                   for r in K], ["num_ctx", "KV MiB", "after release-kv (s)", "after unload (s)"]))
        if len(K) >= 2:
            a, b = K[0], K[-1]
            slope = (b["warm_load_s"] - a["warm_load_s"]) / ((b["kv_bytes"] - a["kv_bytes"]) / 2**20)
            span = (b["kv_bytes"] - a["kv_bytes"]) / 2**20
            md.append(f"\nFrom {a['kv_bytes'] / 2**20:.0f} to {b['kv_bytes'] / 2**20:.0f} MiB of KV, context re-creation "
                      f"changes by {(b['warm_load_s'] - a['warm_load_s']) * 1e3:+.1f} ms ({slope * 1e3:.3f} ms per MiB over "
                      f"{span:.0f} MiB). An eagerly cleared KV buffer (llama.cpp's default, `EBB_EAGER_KV_ZERO=1`) "
                      f"measured 0.39 ms per MiB here at commit 4f1762b; ebb now zeroes it lazily.\n")
    md.append(common.report_tail(res))
    return "".join(md)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", default="a,b,c,r,f,k", help="comma list of a (with b), c, r, f, k")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--followup-tokens", type=int, default=1500)
    ap.add_argument("--sleep", type=int, default=2, help="llama-server --sleep-idle-seconds")
    ap.add_argument("--idle", type=float, default=5.0,
                    help="seconds ebb stays idle after release-kv/unload before the measured request "
                         "(freed memory then behaves as after a real idle period; see bench/README.md)")
    ap.add_argument("--no-real-7b", action="store_true", help="skip loading the 7B model for real")
    ap.add_argument("--fp-sizes", default="t20,m120,m430")
    ap.add_argument("--fp-quants", default="q8_0,q4_0")
    ap.add_argument("--fp-ctx", default="2048,8192")
    ap.add_argument("--fp-parallel", default="1,4")
    ap.add_argument("--report-only", metavar="JSON", help="re-render the markdown of a recorded run")
    ap.add_argument("--analysis", metavar="MD", help="with --report-only: add this analysis section")
    ap.add_argument("--name", default="memory")
    ap.add_argument("--baseline-bin", metavar="PATH", default=os.environ.get("EBB_BASE_BIN"),
                    help="compare ebb (EBB_BIN) with this older ebb binary instead of llama-server, parts a (with b) "
                         "and c (also $EBB_BASE_BIN)")
    args = ap.parse_args()
    global IDLE
    IDLE = args.idle
    if args.report_only:
        return common.report_only(args.report_only, args.analysis, report)
    parts = set(args.parts.split(","))
    base = common.baseline_bin(args)
    work = common.workdir("memory")
    common.snapshot_ebb(work)
    res = common.new_results(args, sys.argv[0])
    if base:
        return main_baseline(args, parts, work, res, base)
    log(f"work dir {work}; machine {res['machine']}")
    est = None
    try:
        if "a" in parts or "b" in parts or "c" in parts:
            est = part_a_b(work, args.runs, args.followup_tokens, args.sleep, res)
            servers._cleanup()
        if "c" in parts:
            part_c(work, args.runs, est, res)
        if "r" in parts:
            part_r(work, not args.no_real_7b, res)
        if "k" in parts:
            part_k(work, res)
        if "f" in parts:
            part_f(work, res, args.fp_sizes.split(","), args.fp_quants.split(","),
                   [int(x) for x in args.fp_ctx.split(",")], [int(x) for x in args.fp_parallel.split(",")])
    except Exception:  # noqa: BLE001 - keep what was measured
        common.note_abort(res)
    finally:
        servers._cleanup()
    common.finish_run(res, work, args, report, [work / "ebb", *work.glob("*.gguf")])


if __name__ == "__main__":
    main()
