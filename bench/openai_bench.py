#!/usr/bin/env python3
"""OpenAI-API serving benchmarks: ebb's /v1/chat/completions against ebb's own /api/chat, and against
llama-server's /v1/chat/completions built from the same pinned llama.cpp, with the models, threads,
slots and context per slot of bench/serving_bench.py.

  v1api   - ebb /v1/chat/completions vs ebb /api/chat on the same server and model (m430 q8_0, 1 slot):
            one-stream decode tok/s of a streamed 64-token chat, taken at the client alike on both routes
            ((generated tokens - 1) / (last token - first token)), and the p50 latency of an 8-token
            request (non-streaming, 10 requests after 2 warm-ups), kept-alive and new connection
  v1peer  - ebb /v1/chat/completions vs llama-server /v1/chat/completions (--jinja): aggregate generated
            tok/s at 1, 8, 32 streaming clients on m120 (num_parallel N vs -np N -c num_ctx×N), QPS of
            16-token completions with 64 clients on t20 (num_parallel 64 vs -np 64), and the 1-token
            request latency p50 on the same servers; QPS and latency kept-alive and new connection

Requests: one user message of 12 words, temperature 0, seed 42, max_tokens, ignore_eos; streamed with
stream_options.include_usage, the generated tokens counted from usage.completion_tokens on both servers.
ebb's /v1 has no repeat_penalty field and samples with Ollama's default 1.0 (no penalty): llama-server
is asked for the same (bench/lib/loadgen.py). Both servers render the GGUF's own chat template (`ebb synth`
writes ChatML). Sanity checks, which abort the run when they fail: v1peer compares usage.prompt_tokens of
the same message on both servers for every model (same template, same prompt tokens); v1api requires the
same text from both routes.

Every figure is the median of --runs interleaved runs (ebb, other, other, ebb, ...), each started on a
quiet machine (common.guarded; EBB_BENCH_NO_GUARD=1 turns that off, for smoke tests only).

Usage: bench/openai_bench.py [--parts v1api,v1peer] [--runs 5] [--duration 12] [--name openai]
Writes bench/results/<date>-<name>.{md,json}. Speed targets live here, never in tests.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))
import common  # noqa: E402
import loadgen  # noqa: E402
import servers  # noqa: E402
from common import fmt, log, med, ratio  # noqa: E402
from serving_bench import LONG, M120_CTX, T20_CTX, THREADS, ebb_model, peer, with_overflows  # noqa: E402

EBB_PORT = 19440
PEER_M120 = {1: 19441, 8: 19442, 32: 19443}
PEER_T20 = 19444
DECODE_TOKENS = 64


def messages(n):
    """n user messages of 12 words each (one per client)."""
    return [common.words(12, 100 + i) for i in range(n)]


def checked(rs, t):
    """rs, or an error naming the target if a request failed."""
    bad = [r for r in rs if not r.ok]
    if bad:
        raise RuntimeError(f"{t.label()}: {bad[0].status} {bad[0].error}")
    return rs


def one(t, text, n, stream=False):
    """One request on a new connection; an error if it failed."""
    return checked([loadgen.one(t, text, n, stream=stream)], t)[0]


def parity(a, b):
    """The issue's rule: a median ratio ≥ 0.97 counts as parity (≥ 1.0×) on this shared machine."""
    r = ratio(a, b)
    return r is not None and r >= 0.97


def same_prompt(ebb, other, text, n=16):
    """The sanity check of v1peer: one non-streamed request of the same message on both servers; their
    usage.prompt_tokens must match (the same chat template rendered to the same tokens), else the run stops."""
    a, b = one(ebb, text, n), one(other, text, n)
    if not a.prompt_tokens or a.prompt_tokens != b.prompt_tokens:
        raise RuntimeError(f"sanity check failed: prompt tokens differ ({ebb.label()}: {a.prompt_tokens}, {other.label()}: "
                           f"{b.prompt_tokens}); the servers do not render the same chat template")
    out = {"prompt_tokens": [a.prompt_tokens, b.prompt_tokens], "completion_tokens": [a.tokens, b.tokens],
           "same_text": a.text == b.text}
    log(f"sanity {ebb.model}: prompt tokens {a.prompt_tokens}/{b.prompt_tokens}, generated {a.tokens}/{b.tokens}, "
        f"same text {out['same_text']}")
    return out


def part_v1api(args, res, m430):
    V = loadgen.Target("ebb", EBB_PORT, "m430", api="openai")
    C = loadgen.Target("ebb", EBB_PORT, "m430", api="chat")
    q = messages(1)[0]
    a, b = one(V, q, DECODE_TOKENS), one(C, q, DECODE_TOKENS)
    R = res["v1api"] = {"sanity": {"completion_tokens": [a.tokens, b.tokens], "same_text": a.text == b.text,
                                   "prompt_tokens_v1": a.prompt_tokens}}
    if a.text != b.text:
        raise RuntimeError(f"sanity check failed: /v1/chat/completions and /api/chat generated different text for the same "
                           f"message ({a.text[:80]!r} vs {b.text[:80]!r})")

    def rate(t):
        def f():
            r = one(t, q, DECODE_TOKENS, stream=True)
            span = (r.t_last or 0.0) - (r.ttft or 0.0)
            return {"tok_s": (r.tokens - 1) / span if span > 0 else None, "tokens": r.tokens, "chunks": r.chunks,
                    "ttft": r.ttft, "total": r.total, "server_tok_s": r.tokens / r.eval_s if r.eval_s else None}
        return f
    d = loadgen.interleave(args.runs, {"v1": rate(V), "chat": rate(C)}, wrap=common.guarded)
    R["decode"] = {"runs": d, "v1": med([x["tok_s"] for x in d["v1"]]), "chat": med([x["tok_s"] for x in d["chat"]])}
    log(f"v1api decode: /v1 {fmt(R['decode']['v1'], ' tok/s', 1)}, /api/chat {fmt(R['decode']['chat'], ' tok/s', 1)}")

    def lat(t, keep):
        def f():
            rs = checked(loadgen.latency_series(t, q, 8, 10, stream=False, warmup=2, keepalive=keep), t)
            return {"p50": med([r.total for r in rs]), "all": [r.total for r in rs], "tokens": rs[0].tokens}
        return f
    R["lat8"] = {}
    for keep in (True, False):
        k = "keepalive" if keep else "fresh"
        L = loadgen.interleave(args.runs, {"v1": lat(V, keep), "chat": lat(C, keep)}, wrap=common.guarded)
        R["lat8"][k] = {"runs": L, "v1": med([x["p50"] for x in L["v1"]]), "chat": med([x["p50"] for x in L["chat"]])}
        log(f"v1api lat8 {k}: /v1 {R['lat8'][k]['v1'] * 1e3:.2f} ms, /api/chat {R['lat8'][k]['chat'] * 1e3:.2f} ms")


def part_v1peer(args, res, work, levels, m120, t20):
    R = res["v1peer"] = {"sanity": {}}
    E = lambda m: loadgen.Target("ebb", EBB_PORT, m, api="openai")  # noqa: E731
    ms = messages(64)
    A = R["agg"] = {}
    for n in levels:
        peer(m120, M120_CTX * n, n, PEER_M120[n], work, f"m120-p{n}", extra=["--jinja"])
        PT, ET = loadgen.Target("peer", PEER_M120[n], api="openai"), E(f"m120-p{n}")
        R["sanity"][f"m120-p{n}"] = same_prompt(ET, PT, ms[0])
        for t in (ET, PT):  # load + warm
            loadgen.concurrent(t, ms, 16, n, 1.0, stream=True)

        def run(t, n=n):
            return lambda: with_overflows(lambda: loadgen.concurrent(t, ms, 64, n, args.duration, stream=True, keepalive=True))
        a = loadgen.interleave(args.runs, {"ebb": run(ET), "peer": run(PT)}, wrap=common.guarded)
        A[n] = {"runs": a, "ebb": med([x["tok_per_s"] for x in a["ebb"]]), "peer": med([x["tok_per_s"] for x in a["peer"]]),
                "errors": {s: sum(x["errors"] for x in a[s]) for s in a}}
        log(f"v1peer agg {n} clients: ebb {A[n]['ebb']:.1f} tok/s, peer {A[n]['peer']:.1f} tok/s, errors {A[n]['errors']}")

    peer(t20, T20_CTX * 64, 64, PEER_T20, work, "t20-p64", extra=["--jinja"])
    PT, ET = loadgen.Target("peer", PEER_T20, api="openai"), E("t20-p64")
    R["sanity"]["t20-p64"] = same_prompt(ET, PT, ms[0])
    for t in (ET, PT):
        loadgen.concurrent(t, ms, 16, 64, 2.0)
    Q = R["qps"] = {}
    for keep in (True, False):
        k = "keepalive" if keep else "fresh"

        def qrun(t, keep=keep):
            return lambda: with_overflows(lambda: loadgen.concurrent(t, ms, 16, 64, args.duration, stream=False, keepalive=keep))

        def l1(t, keep=keep):
            def f():
                rs = loadgen.latency_series(t, ms[0], 1, 30, stream=False, warmup=3, keepalive=keep)
                return {"p50": med([r.total for r in rs if r.ok]), "errors": sum(not r.ok for r in rs)}
            return f
        qq = loadgen.interleave(args.runs, {"ebb": qrun(ET), "peer": qrun(PT)}, wrap=common.guarded)
        ll = loadgen.interleave(args.runs, {"ebb": l1(ET), "peer": l1(PT)}, wrap=common.guarded)
        Q[k] = {"qps_runs": qq, "lat1_runs": ll,
                "ebb_qps": med([x["qps"] for x in qq["ebb"]]), "peer_qps": med([x["qps"] for x in qq["peer"]]),
                "ebb_lat1": med([x["p50"] for x in ll["ebb"]]), "peer_lat1": med([x["p50"] for x in ll["peer"]]),
                "errors": {s: sum(x["errors"] for x in qq[s]) for s in qq}}
        log(f"v1peer qps {k}: ebb {Q[k]['ebb_qps']:.1f}, peer {Q[k]['peer_qps']:.1f}; 1-token p50 ebb "
            f"{fmt(Q[k]['ebb_lat1'] and Q[k]['ebb_lat1'] * 1e3, ' ms', 2)}, peer {fmt(Q[k]['peer_lat1'] and Q[k]['peer_lat1'] * 1e3, ' ms', 2)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", default="v1api,v1peer")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--duration", type=float, default=12.0, help="seconds per concurrent-load run")
    ap.add_argument("--clients", default="1,8,32", help="client counts for the aggregate tokens/s figure")
    ap.add_argument("--report-only", metavar="JSON", help="re-render the markdown of a recorded run")
    ap.add_argument("--analysis", metavar="MD", help="with --report-only: add this analysis section")
    ap.add_argument("--name", default="openai")
    args = ap.parse_args()
    if args.report_only:
        return common.report_only(args.report_only, args.analysis, report)
    parts = set(args.parts.split(","))
    if parts - {"v1api", "v1peer"}:
        ap.error(f"unknown parts: {','.join(sorted(parts - {'v1api', 'v1peer'}))}")
    levels = [int(x) for x in args.clients.split(",")]
    work = common.workdir("openai")
    common.snapshot_ebb(work)
    res = common.new_results(args, sys.argv[0])
    log(f"work dir {work}; machine {res['machine']}")
    m430, m120, t20 = common.model("m430"), common.model("m120"), common.model("t20")
    try:
        entries = [ebb_model("m430", m430, 4096, 1)] + [ebb_model(f"m120-p{n}", m120, M120_CTX, n) for n in levels] + \
                  [ebb_model("t20-p64", t20, T20_CTX, 64)]
        cfg = servers.toml_config(work / "ebb.toml", entries, LONG)
        (work / "empty").mkdir()
        servers.start_ebb(work / "empty", EBB_PORT, work / "ebb.log", config=cfg)
        if "v1api" in parts:
            part_v1api(args, res, m430)
        if "v1peer" in parts:
            part_v1peer(args, res, work, levels, m120, t20)
    except Exception:  # noqa: BLE001 - keep what was measured
        common.note_abort(res)
    finally:
        servers._cleanup()
    common.finish_run(res, work, args, report, [work / "ebb"])
    if any(n.startswith("run aborted") for n in res["notes"]):
        sys.exit(1)


def report(res, args) -> str:
    m = res["machine"]
    md = [common.machine_header(m, "OpenAI-API serving benchmarks: ebb /v1/chat/completions vs ebb /api/chat and vs llama-server")]
    md.append(f"- command: `{res.get('command', 'bench/openai_bench.py')}`\n"
              f"- peer: llama-server built by `bench/build-peer.sh` from the same pinned llama.cpp (node-llama-cpp "
              f"{servers.LLAMA_VERSION}, commit 80fb11a + PR-22566), same CPU flags; same GGUF files; `--jinja`.\n"
              f"- models: synthetic llamas from `ebb synth` with its ChatML template: m430 (425M q8_0), m120 (120M q8_0), "
              f"t20 (18.6M q8_0); threads {THREADS}, batch/ubatch 512 on both; ebb num_ctx/num_parallel from a TOML "
              f"`[[model]]` entry, peer `-c num_ctx×N -np N`.\n"
              f"- requests: one user message of 12 words (each client its own), temperature 0, seed 42, `max_tokens`, "
              f"`ignore_eos`; streamed with `stream_options.include_usage` (tokens from `usage.completion_tokens`). ebb's "
              f"/v1 samples with Ollama's default repeat_penalty 1.0 (it has no such field); llama-server is asked "
              f"for the same, and /api/chat gets ebb's defaults too.\n"
              f"- every figure is the median of {args.runs} interleaved runs (ebb, other, other, ebb, ...).\n"
              f"- other engineers share this machine. Each measurement starts only when other processes use "
              f"< {common.QUIET_CORES} cores and is repeated (≤ 2 more tries) if they used > {common.DIRTY_CORES} cores "
              f"during it: {common.quiet_summary(res.get('quiet_log'), res.get('no_guard', False))}.\n"
              f"- load average at end: {res.get('loadavg_end')}; CPU pressure at end: `{res.get('cpu_pressure_end')}`\n")
    tps = lambda x: fmt(x, " tok/s", 1)  # noqa: E731
    ms = lambda x: fmt(x * 1e3 if x is not None else None, " ms", 2)  # noqa: E731
    qps = lambda x: fmt(x, " req/s", 1)  # noqa: E731
    conn = {"keepalive": "kept-alive connection", "fresh": "new connection per request"}

    def row(rows, fig, a, b, unit, target, met):
        r = ratio(a, b)
        rows.append([fig, unit(a), unit(b), fmt(r, "×", 3) if r is not None else "—", target,
                     "—" if met is None else ("yes" if met else "**no**")])

    A = res.get("v1api")
    if A:
        rows = []
        if "decode" in A:
            D = A["decode"]
            row(rows, f"decode, one stream, m430 q8_0, {DECODE_TOKENS} tokens (client side)", D["v1"], D["chat"], tps,
                "parity (≥ 0.97×)", parity(D["v1"], D["chat"]))
        for k, L in A.get("lat8", {}).items():
            row(rows, f"8-token request latency p50, m430, {conn[k]}", L["v1"], L["chat"], ms, "≤ /api/chat + 1 ms",
                L["v1"] - L["chat"] <= 0.001)
        md.append("\n## ebb: /v1/chat/completions vs /api/chat (same server, same model)\n\n")
        md.append(common.md_table(rows, ["figure", "/v1/chat/completions", "/api/chat", "/v1 ÷ /api/chat", "target", "met?"]))
        s = A["sanity"]
        md.append(f"\nSanity: both routes generated {'the same' if s['same_text'] else '**different**'} text for the same "
                  f"message ({s['completion_tokens'][0]}/{s['completion_tokens'][1]} tokens; prompt "
                  f"{s['prompt_tokens_v1']} tokens).\n")
        if "decode" in A:
            md.append(f"\n### Decode\n\nOne streamed {DECODE_TOKENS}-token chat per run on a new connection; tok/s = "
                      f"(generated tokens − 1) / (time of the last text chunk − time of the first), at the client, on both "
                      f"routes. /api/chat's own `eval_count / eval_duration` for reference.\n\n")
            rr = [[i + 1, fmt(v["tok_s"], "", 1), fmt(c["tok_s"], "", 1), fmt(c["server_tok_s"], "", 1),
                   f"{v['tokens']}/{c['tokens']}", f"{v['chunks']}/{c['chunks']}", f"{ms(v['ttft'])}/{ms(c['ttft'])}",
                   f"{v['_foreign_cores']}/{c['_foreign_cores']}"]
                  for i, (v, c) in enumerate(zip(A["decode"]["runs"]["v1"], A["decode"]["runs"]["chat"]))]
            md.append(common.md_table(rr, ["run", "/v1 tok/s", "/api/chat tok/s", "/api/chat server tok/s", "tokens /v1 / chat",
                                           "text chunks /v1 / chat", "TTFT /v1 / chat", "foreign load (cores)"]))
        if A.get("lat8"):
            md.append("\n### 8-token request latency\n\nOne client, non-streaming, 10 requests after 2 warm-ups, p50 per run "
                      "(client side, request sent → response read).\n\n")
            rr = [[k, i + 1, ms(v["p50"]), ms(c["p50"]), f"{v['tokens']}/{c['tokens']}"]
                  for k, L in A["lat8"].items() for i, (v, c) in enumerate(zip(L["runs"]["v1"], L["runs"]["chat"]))]
            md.append(common.md_table(rr, ["connection", "run", "/v1 p50", "/api/chat p50", "tokens /v1 / chat"]))

    P = res.get("v1peer")
    if P:
        rows = []
        for n, G in P.get("agg", {}).items():
            row(rows, f"aggregate generated tok/s, m120, {n} streaming clients (num_parallel {n})", G["ebb"], G["peer"], tps,
                "≥ 1.0× (parity: ≥ 0.97)", parity(G["ebb"], G["peer"]))
        for k, Q in P.get("qps", {}).items():
            row(rows, f"QPS, 16-token completions, t20, 64 clients, {conn[k]}", Q["ebb_qps"], Q["peer_qps"], qps,
                "≥ 1.0× (parity: ≥ 0.97)", parity(Q["ebb_qps"], Q["peer_qps"]))
            row(rows, f"1-token request latency p50, t20 (np 64 servers), {conn[k]}", Q["ebb_lat1"], Q["peer_lat1"], ms,
                "— (reference)", None)
        md.append("\n## ebb vs llama-server, both /v1/chat/completions\n\n")
        md.append(common.md_table(rows, ["figure", "ebb", "llama-server", "ebb/peer", "target", "met?"]))
        md.append("\nSanity (one non-streamed 16-token request of the same message on both servers; the run stops if the "
                  "prompt token counts differ):\n\n")
        md.append(common.md_table([[k, f"{s['prompt_tokens'][0]}/{s['prompt_tokens'][1]}",
                                    f"{s['completion_tokens'][0]}/{s['completion_tokens'][1]}", "yes" if s["same_text"] else "**no**"]
                                   for k, s in P["sanity"].items()],
                                  ["model", "prompt tokens ebb/peer", "generated tokens ebb/peer", "same text"]))
        if P.get("agg"):
            md.append(f"\n### Aggregate tokens/s\n\nN client threads, each streaming 64-token chats back to back on a kept-alive "
                      f"connection for {args.duration:.0f} s (requests started before the deadline finish); tokens/s = "
                      f"`usage.completion_tokens` summed / wall time. num_ctx {M120_CTX} per slot on both.\n\n")
            rr = []
            for n, G in P["agg"].items():
                for i, (e, p) in enumerate(zip(G["runs"]["ebb"], G["runs"]["peer"])):
                    rr.append([n, i + 1, fmt(e["tok_per_s"], "", 1), fmt(p["tok_per_s"], "", 1),
                               f"{fmt(e.get('tokens_per_request'), '', 1)}/{fmt(p.get('tokens_per_request'), '', 1)}",
                               e["requests"], p["requests"], f"{e['errors']}/{p['errors']}",
                               f"{e.get('listen_overflows')}/{p.get('listen_overflows')}",
                               f"{ms(e['ttft_p50_s'])}/{ms(p['ttft_p50_s'])}", f"{ms(e['latency_p50_s'])}/{ms(p['latency_p50_s'])}",
                               f"{e['_foreign_cores']}/{p['_foreign_cores']}"])
            md.append(common.md_table(rr, ["clients", "run", "ebb tok/s", "peer tok/s", "tokens/request ebb/peer", "ebb requests",
                                           "peer requests", "errors ebb/peer", "listen overflows ebb/peer", "TTFT p50 ebb/peer",
                                           "request p50 ebb/peer", "foreign load (cores) ebb/peer"]))
        if P.get("qps"):
            md.append(f"\n### QPS and 1-token latency (t20, 64 slots)\n\n64 client threads, non-streaming 16-token chats, "
                      f"{args.duration:.0f} s per run; 1-token latency: one client, 30 requests after 3 warm-ups, p50.\n\n")
            rr = []
            for k, Q in P["qps"].items():
                for i, (e, p) in enumerate(zip(Q["qps_runs"]["ebb"], Q["qps_runs"]["peer"])):
                    rr.append([k, i + 1, fmt(e["qps"], "", 1), fmt(p["qps"], "", 1),
                               f"{fmt(e.get('tokens_per_request'), '', 1)}/{fmt(p.get('tokens_per_request'), '', 1)}",
                               f"{e['errors']}/{p['errors']}", f"{e.get('listen_overflows')}/{p.get('listen_overflows')}",
                               ms(Q["lat1_runs"]["ebb"][i]["p50"]), ms(Q["lat1_runs"]["peer"][i]["p50"])])
            md.append(common.md_table(rr, ["connection", "run", "ebb QPS", "peer QPS", "tokens/request ebb/peer", "errors ebb/peer",
                                           "listen overflows ebb/peer", "ebb 1-token p50", "peer 1-token p50"]))
    md.append(common.report_tail(res))
    return "".join(md)


if __name__ == "__main__":
    main()
