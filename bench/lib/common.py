"""Shared pieces of the benchmark scripts: work dir, binary snapshot, models, prompts, stats, report."""
from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import servers

MODEL_CACHE = Path(os.environ.get("EBB_BENCH_MODELS", Path.home() / ".cache/ebb/bench-models"))

# name → (params, quant, seed); all synthetic llamas with a printable vocabulary (`ebb synth`)
MODELS = {
    "m430": ("430M", "q8_0", 1),
    "m430b": ("430M", "q8_0", 2),   # a second, different model of the same shape (swap test)
    "m430-q4": ("430M", "q4_0", 1),
    "m120": ("120M", "q8_0", 1),
    "m120-q4": ("120M", "q4_0", 1),
    "t20": ("20M", "q8_0", 1),
    "t20-q4": ("20M", "q4_0", 1),
}


def workdir(name: str) -> Path:
    d = Path(tempfile.mkdtemp(prefix=f"ebb-bench-{name}-", dir="/tmp"))
    return d


def snapshot_ebb(work: Path) -> Path:
    """Copy build/ebb so that a rebuild by someone else mid-run cannot change the binary under test
    (runners are spawned from /proc/self/exe, i.e. the copy)."""
    dst = work / "ebb"
    shutil.copy2(servers.EBB, dst)
    servers.EBB = dst
    return dst


def model(name: str) -> Path:
    MODEL_CACHE.mkdir(parents=True, exist_ok=True)
    params, quant, seed = MODELS[name]
    return servers.ensure_model(MODEL_CACHE / f"{name}.gguf", params, quant, seed)


def models_dir(work: Path, names: list[str]) -> Path:
    """A directory of symlinks: ebb serves every NAME.gguf in it as NAME."""
    d = work / "models"
    d.mkdir(exist_ok=True)
    for n in names:
        link = d / f"{n}.gguf"
        if not link.exists():
            link.symlink_to(model(n))
    return d


_SYL = ["ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "de", "vu", "zo", "ha", "gi", "be", "fa", "ju"]


def words(n: int, seed: int) -> str:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        w = "".join(rng.choice(_SYL) for _ in range(rng.randint(1, 3)))
        out.append(w)
        if i % 12 == 11:
            out[-1] += "."
    return " ".join(out)


def prompt_of_tokens(n_tokens: int, count_tokens, seed: int = 7) -> tuple[str, int]:
    """A deterministic text of about n_tokens tokens; count_tokens(text) -> int does the counting
    (llama-server's /tokenize, same tokenizer as ebb's)."""
    lo, hi = 1, max(8, n_tokens)
    while count_tokens(words(hi, seed)) < n_tokens:
        hi *= 2
    while lo < hi:
        mid = (lo + hi) // 2
        if count_tokens(words(mid, seed)) < n_tokens:
            lo = mid + 1
        else:
            hi = mid
    text = words(lo, seed)
    return text, count_tokens(text)


def peer_tokenizer(port: int):
    def count(text: str) -> int:
        s, b = servers.http_json(port, "POST", "/tokenize", {"content": text})
        if s != 200:
            raise RuntimeError(f"/tokenize: {s} {b}")
        return len(b["tokens"])
    return count


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def ratio(a, b):
    return (a / b) if (a is not None and b) else None


def fmt(x, unit="", digits=3):
    if x is None:
        return "—"
    if isinstance(x, float):
        return f"{x:.{digits}f}{unit}"
    return f"{x}{unit}"


def md_table(rows: list[list], header: list[str]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        out.append("| " + " | ".join(str(c) for c in r) + " |")
    return "\n".join(out) + "\n"


def machine_header(m: dict, title: str) -> str:
    return (f"# {title}\n\n"
            f"- date: {m['date']}\n- commit: `{m['commit']}`{' (src has uncommitted changes)' if m['dirty'] else ''}"
            f"{'; ebb binary: ' + m['ebb_binary'] if m.get('ebb_binary') else ''}\n"
            f"- machine: {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM, {m['os']}, kernel {m['kernel']}\n"
            f"- load average at start: {m['loadavg_start']}; CPU pressure at start: `{m.get('cpu_pressure_start', '')}`\n")


def new_results(args, script: str) -> dict:
    """A run's results dict: the machine, the arguments and the command line."""
    import sys
    return {"machine": servers.machine(), "args": vars(args), "notes": [], "no_guard": NO_GUARD,
            "command": " ".join(["bench/%s" % Path(script).name] + sys.argv[1:])}


def note_abort(res: dict) -> None:
    """Records the exception being handled as a run note; what was measured is kept."""
    import traceback
    res["notes"].append("run aborted: " + traceback.format_exc(limit=3).replace("\n", " "))
    log(traceback.format_exc())


def finish_run(res: dict, work: Path, args, report, drop: list[Path]) -> None:
    """Stamps the end of the run, deletes `drop` (copied binaries and models; the logs stay) and
    writes bench/results/<date>-<args.name>.{md,json}."""
    res["loadavg_end"] = loadavg()
    res["cpu_pressure_end"] = servers.cpu_pressure()
    res["quiet_log"] = QUIET_LOG
    res["work_dir"] = str(work)
    for f in drop:
        f.unlink(missing_ok=True)
    mdp, jp = servers.write_results(args.name, res, report(res, args))
    log(f"wrote {mdp} and {jp}")


def report_tail(res: dict) -> str:
    """The end of every results page: run notes, then the hand-written analysis, if any."""
    md = ""
    if res.get("notes"):
        md += "\n## Run notes\n\n" + "\n".join(f"- {n}" for n in res["notes"]) + "\n"
    if res.get("analysis"):
        md += "\n## Analysis: targets missed and why\n\n" + res["analysis"].strip() + "\n"
    return md


def report_only(results_json: str, analysis_md: str | None, report) -> None:
    """Re-render the markdown of a recorded run with `report(res, args)`, optionally adding a
    hand-written analysis (its numbers must come from that run's JSON or logs)."""
    import argparse
    path = Path(results_json)
    res = json.loads(path.read_text())
    if analysis_md:
        res["analysis"] = Path(analysis_md).read_text()
    out_md = path.with_suffix(".md")
    out_md.write_text(report(res, argparse.Namespace(**res["args"])))
    path.write_text(json.dumps(res, indent=1) + "\n")
    log(f"rewrote {out_md}")


def loadavg() -> str:
    return open("/proc/loadavg").read().strip()


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


def dump(path: Path, obj):
    path.write_text(json.dumps(obj, indent=1))


QUIET_LOG: list = []
_TCK = os.sysconf("SC_CLK_TCK")


def _cpu_sample():
    """(time, {pid: own CPU seconds} of every other process, CPU seconds of this process and its
    descendants incl. reaped children). Niced work counts too: a nice-19 build next to llama.cpp's
    spinning thread barriers slowed a 19-token prefill 10-50x here."""
    procs = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
        except OSError:
            continue
        rest = st[st.rindex(")") + 2:].split()
        # ppid; utime+stime; the same plus reaped children's (cutime+cstime); nice
        procs[int(d)] = (int(rest[1]), (int(rest[11]) + int(rest[12])) / _TCK, sum(int(x) for x in rest[11:15]) / _TCK,
                         int(rest[16]))
    children = {}
    for pid, v in procs.items():
        children.setdefault(v[0], []).append(pid)
    mine, stack, seen = 0.0, [os.getpid()], set()
    while stack:
        p = stack.pop()
        if p in seen or p not in procs:
            continue
        seen.add(p)
        mine += procs[p][2]
        stack.extend(children.get(p, []))
    # Others: own time only. A reaped child's whole lifetime lands in its parent's cutime at once,
    # which would count minutes of work (e.g. a compiler run) as if done within the window.
    others = {pid: v[1] for pid, v in procs.items() if pid not in seen}
    return time.time(), others, mine


def foreign_cores(a, b) -> float:
    """Average number of cores used by other processes between two samples."""
    dt = b[0] - a[0]
    if dt <= 0:
        return 0.0
    used = sum(cpu - a[1].get(pid, 0.0) for pid, cpu in b[1].items() if cpu >= a[1].get(pid, 0.0))
    return used / dt


QUIET_CORES = 0.10   # foreign load allowed while waiting to start (cores)
DIRTY_CORES = 0.15   # a measurement with more foreign load than this is repeated (≤ 2 more tries)


# EBB_BENCH_NO_GUARD=1: start every measurement at once and never repeat one. For smoke tests of
# the scripts only (on a busy machine the guard may wait for minutes); the figures are then noise.
NO_GUARD = os.environ.get("EBB_BENCH_NO_GUARD") == "1"


def wait_quiet(max_wait: float = 300.0) -> float:
    """Wait until other processes used < QUIET_CORES cores over a 2 s window (up to max_wait)."""
    if NO_GUARD:
        return 0.0
    t0 = time.time()
    while True:
        a = _cpu_sample()
        time.sleep(2.0)
        f = foreign_cores(a, _cpu_sample())
        if f < QUIET_CORES or time.time() - t0 > max_wait:
            return time.time() - t0


def guarded(fn, label: str = ""):
    """Run one measurement when the machine is quiet; measure the CPU other processes used during
    it and repeat it (at most twice) if that exceeded DIRTY_CORES. Same rule for ebb and peer."""
    for attempt in range(3):
        waited = wait_quiet()
        a = _cpu_sample()
        v = fn()
        b = _cpu_sample()
        f = foreign_cores(a, b)
        QUIET_LOG.append({"label": label, "try": attempt + 1, "waited_s": round(waited, 1), "foreign_cores": round(f, 3),
                          "wall_s": round(b[0] - a[0], 2)})
        if f <= DIRTY_CORES or attempt == 2 or NO_GUARD:
            if isinstance(v, dict):
                v["_foreign_cores"] = round(f, 3)
                v["_tries"] = attempt + 1
            return v
        log(f"  {label}: other processes used {f:.2f} cores during the measurement; repeating it")


def quiet_summary(q: list | None = None, no_guard: bool = False) -> str:
    q = QUIET_LOG if q is None else q
    if not q:
        return "no measurements logged"
    if no_guard:
        return (f"**guard off (EBB_BENCH_NO_GUARD=1, a smoke test): nothing waited or was repeated**; median foreign "
                f"load during the measurements {med([x['foreign_cores'] for x in q]):.3f} cores")
    final = [x for i, x in enumerate(q) if i + 1 == len(q) or q[i + 1]["try"] == 1]
    return (f"{len(final)} measurements; {sum(x['try'] > 1 for x in final)} needed a repeat, "
            f"{sum(x['foreign_cores'] > DIRTY_CORES for x in final)} kept above the limit after 3 tries; "
            f"{sum(x['waited_s'] for x in q):.0f} s spent waiting for quiet; median foreign load during kept measurements "
            f"{med([x['foreign_cores'] for x in final]):.3f} cores")


# ---- baseline mode: a second ebb binary in the peer's place ----------------------------------

def baseline_bin(args) -> Path | None:
    """--baseline-bin PATH, else $EBB_BASE_BIN; None: peer mode."""
    p = getattr(args, "baseline_bin", None) or os.environ.get("EBB_BASE_BIN")
    if not p:
        return None
    p = Path(p).resolve()
    if not p.is_file():
        raise SystemExit(f"baseline binary {p} does not exist")
    return p


def snapshot_base(work: Path, src: Path) -> Path:
    """Copy the baseline ebb binary (same reason as snapshot_ebb: it cannot change mid-run)."""
    dst = work / "ebb-base"
    shutil.copy2(src, dst)
    return dst


def ebb_tokenizer(port: int, model: str):
    """Token count of a text on an ebb server: /api/embed's prompt_eval_count (ebb has no
    /tokenize). Used where no peer runs; it may differ from llama-server's count by the BOS token."""
    def count(text: str) -> int:
        s, b = servers.http_json(port, "POST", "/api/embed", {"model": model, "input": text})
        if s != 200:
            raise RuntimeError(f"/api/embed: {s} {b}")
        return int(b["prompt_eval_count"])
    return count


NOISE_RULE = ("For each figure, each binary's spread is the range (max − min) of its per-run values. The verdict is "
              "**worse** when the new median is worse than the old median by more than the old binary's spread "
              "(lower-is-better: new − old > old spread; higher-is-better: old − new > old spread), **better** when it "
              "is better by more than that spread, else *within noise*. With one run the spread is 0, so any difference "
              "counts: use ≥ 5 runs for a verdict.")


def spread(xs):
    xs = [x for x in xs if x is not None]
    return (max(xs) - min(xs)) if xs else None


def verdict(new, old, higher_is_better: bool):
    n, o, sp = med(new), med(old), spread(old)
    if n is None or o is None:
        return "—"
    worse_by = (o - n) if higher_is_better else (n - o)
    if worse_by > sp:
        return "**worse**"
    if -worse_by > sp:
        return "better"
    return "within noise"


def add_figure(res: dict, key: str, label: str, unit: str, higher_is_better: bool, new: list, old: list,
               scale: float = 1.0) -> dict:
    """Records one figure of a baseline comparison: the per-run values of each binary."""
    f = {"label": label, "unit": unit, "higher_is_better": higher_is_better, "scale": scale,
         "new": list(new), "old": list(old)}
    res.setdefault("figures", {})[key] = f
    n, o = med(new), med(old)
    log(f"{label}: new {fmt(n * scale if n is not None else None, ' ' + unit)}, old "
        f"{fmt(o * scale if o is not None else None, ' ' + unit)}, {verdict(new, old, higher_is_better)}")
    return f


def baseline_report(res: dict, args, title: str, what: str) -> str:
    """The results page of a baseline-mode run: one row per figure, then every run's values."""
    m = res["machine"]
    b = res.get("baseline", {})
    md = [machine_header(m, title)]
    md.append(f"- command: `{res.get('command', '')}`\n"
              f"- new binary: {b.get('new', m.get('ebb_binary', ''))}\n- old binary: {b.get('old', '')}\n"
              f"- {what}\n"
              f"- both servers run at once, with the same config and their own copies of the binaries; every figure "
              f"is measured {args.runs} times, interleaved (new, old, old, new, ...).\n"
              f"- each measurement starts only when other processes use < {QUIET_CORES} cores and is repeated (≤ 2 "
              f"more tries) if they used > {DIRTY_CORES} cores during it: "
              f"{quiet_summary(res.get('quiet_log'), res.get('no_guard', False))}.\n"
              f"- load average at end: {res.get('loadavg_end')}; CPU pressure at end: `{res.get('cpu_pressure_end')}`\n")
    md.append("\n## Summary\n\n" + NOISE_RULE + "\n\n")
    rows = []
    for f in res.get("figures", {}).values():
        sc, u = f.get("scale", 1.0), f["unit"]
        v = lambda x: fmt(x * sc if x is not None else None, " " + u, 3)  # noqa: E731
        rng = lambda xs: (f"{fmt(min(xs) * sc, '', 3)}–{fmt(max(xs) * sc, '', 3)} ({fmt(spread(xs) * sc, '', 3)})"  # noqa: E731
                          if xs else "—")
        n, o = med(f["new"]), med(f["old"])
        rows.append([f["label"], "higher" if f["higher_is_better"] else "lower", v(n), v(o),
                     fmt(ratio(n, o), "×", 3), rng([x for x in f["new"] if x is not None]),
                     rng([x for x in f["old"] if x is not None]), verdict(f["new"], f["old"], f["higher_is_better"])])
    md.append(md_table(rows, ["figure", "better", "new median", "old median", "new/old", "new range (spread)",
                              "old range (spread)", "verdict"]))
    md.append("\n## Runs\n\n")
    rr = []
    for f in res.get("figures", {}).values():
        sc = f.get("scale", 1.0)
        rr.append([f["label"], f["unit"], ", ".join(fmt(x * sc if x is not None else None, "", 3) for x in f["new"]),
                   ", ".join(fmt(x * sc if x is not None else None, "", 3) for x in f["old"])])
    md.append(md_table(rr, ["figure", "unit", "new, per run", "old, per run"]))
    md.append(report_tail(res))
    return "".join(md)
