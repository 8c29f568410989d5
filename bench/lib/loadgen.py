"""Load generator shared by ebb and llama-server benchmarks (Python 3 stdlib only).

Two kinds of target speak the same request shape:
  - "ebb":  Ollama /api/generate, raw prompt, options {num_predict, temperature, seed}
  - "peer": llama-server /completion, {prompt, n_predict, temperature, seed}
Both are asked for the same prompt, the same number of tokens, temperature 0 and the same seed.

A target's `api` picks a chat route instead (the prompt is then one user message):
  - "openai": /v1/chat/completions on either kind: {model, messages, max_tokens, temperature 0,
              seed, stream, stream_options.include_usage}; SSE `data:` chunks until `data: [DONE]`,
              the generated and prompt token counts from `usage` (the last chunk when streamed)
  - "chat":   Ollama /api/chat on ebb: {model, messages, stream, options {num_predict, temperature,
              seed}}; NDJSON, the counts and server timings from the final (done) object

Each client thread keeps one persistent HTTP/1.1 connection (keep-alive), like a real client
library would, and measures on the client side:
  ttft  - time from sending the request to the first generated token arriving (streaming only)
  total - time from sending the request to the end of the response
"""
from __future__ import annotations

import http.client
import json
import statistics
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Target:
    kind: str          # "ebb" | "peer"
    port: int
    model: str = ""    # ebb model name (and llama-server router model name)
    host: str = "127.0.0.1"
    peer_path: str = "/completion"
    api: str = ""      # "": /api/generate or /completion; "openai": /v1/chat/completions; "chat": ebb's /api/chat

    def label(self) -> str:
        return f"{self.kind}{'/' + self.api if self.api else ''}:{self.model or '-'}@{self.port}"


# ebb's /v1 has no repeat_penalty field: it samples with Ollama's defaults (repeat_penalty 1.0, no
# penalty), and llama-server's /v1 is asked for the same, explicitly, so both emit the same tokens.
# `ignore_eos` goes to both (ebb ignores fields it has no use for; synthetic weights rarely pick an
# end-of-generation token anyway: the token counts are reported).
PEER_OPENAI_SAMPLING = {"repeat_penalty": 1.0}


@dataclass
class Result:
    ok: bool
    ttft: float | None = None          # seconds, client side (streaming only)
    t_last: float | None = None        # seconds to the last generated text, client side (streaming only)
    chunks: int = 0                    # streamed pieces with text (≈ tokens; a check on the reported count)
    total: float = 0.0                 # seconds, client side
    tokens: int = 0                    # generated tokens reported by the server
    prompt_tokens: int = 0
    eval_s: float | None = None        # server-side decode time (ebb eval_duration / peer predicted_ms)
    prompt_s: float | None = None      # server-side prompt eval time
    text: str = ""
    error: str = ""
    status: int = 0
    raw_final: dict = field(default_factory=dict)


class Client:
    """One persistent connection to one target."""

    def __init__(self, target: Target, timeout: float = 600.0, keepalive: bool = True):
        self.t = target
        self.timeout = timeout
        self.keepalive = keepalive  # False: a new TCP connection for every request
        self.conn: http.client.HTTPConnection | None = None

    def _connect(self):
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.t.host, self.t.port, timeout=self.timeout)
        return self.conn

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def body(self, prompt: str, n_predict: int, stream: bool, seed: int = 42, extra: dict | None = None) -> tuple[str, dict]:
        messages = [{"role": "user", "content": prompt}]
        if self.t.api == "openai":
            b = {"model": self.t.model or "peer", "messages": messages, "max_tokens": n_predict, "temperature": 0,
                 "seed": seed, "stream": stream, "ignore_eos": True}
            if stream:
                b["stream_options"] = {"include_usage": True}
            if self.t.kind == "peer":
                b.update(PEER_OPENAI_SAMPLING)
            b.update(extra or {})
            return "/v1/chat/completions", b
        if self.t.api == "chat":
            b = {"model": self.t.model, "messages": messages, "stream": stream,
                 "options": {"num_predict": n_predict, "temperature": 0, "seed": seed, **(extra or {})}}
            return "/api/chat", b
        if self.t.kind == "ebb":
            b = {"model": self.t.model, "prompt": prompt, "raw": True, "stream": stream,
                 "options": {"num_predict": n_predict, "temperature": 0, "seed": seed,
                             # llama-server's default and Ollama's (1.1 before 2026-03). Same sampling → same tokens.
                             "repeat_penalty": 1.0}}
            if extra:
                b["options"].update(extra)
            return "/api/generate", b
        b = {"prompt": prompt, "n_predict": n_predict, "temperature": 0, "seed": seed, "stream": stream}
        if self.t.model:
            b["model"] = self.t.model
        if extra:
            b.update(extra)
        return self.t.peer_path, b

    def generate(self, prompt: str, n_predict: int, stream: bool = True, seed: int = 42,
                 extra: dict | None = None) -> Result:
        path, body = self.body(prompt, n_predict, stream, seed, extra)
        data = json.dumps(body).encode()
        for attempt in range(2):  # one retry if a kept-alive connection was closed by the server
            conn = self._connect()
            t0 = time.perf_counter()
            try:
                conn.request("POST", path, body=data, headers={"Content-Type": "application/json"})
                resp = conn.getresponse()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, http.client.CannotSendRequest) as e:
                self.close()
                if attempt == 0:
                    continue
                return Result(ok=False, error=repr(e))
            try:
                return self._read(resp, t0, stream)
            except Exception as e:  # noqa: BLE001 - report, never crash a load run
                self.close()
                return Result(ok=False, error=repr(e), total=time.perf_counter() - t0)
            finally:
                if not self.keepalive:
                    self.close()
        return Result(ok=False, error="unreachable")

    def _read(self, resp, t0: float, stream: bool) -> Result:
        if resp.status != 200:
            text = resp.read().decode(errors="replace")
            return Result(ok=False, status=resp.status, error=text[:500], total=time.perf_counter() - t0)
        r = Result(ok=True, status=200)
        if not stream:
            obj = json.loads(resp.read())
            r.total = time.perf_counter() - t0
            self._final(r, obj)
            r.text = self._piece(obj)
            return r
        parts = []
        buf = b""
        final = None
        while True:
            chunk = resp.read1(65536) if hasattr(resp, "read1") else resp.read(1)
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                line = line.strip()
                if not line:
                    continue
                if line.startswith(b"data:"):
                    line = line[5:].strip()
                    if line == b"[DONE]":
                        continue
                obj = json.loads(line)
                if "error" in obj and not obj.get("done") and "content" not in obj and "response" not in obj:
                    r.ok = False
                    r.error = json.dumps(obj)[:500]
                piece = self._piece(obj)
                if piece:
                    r.t_last = time.perf_counter() - t0
                    if r.ttft is None:
                        r.ttft = r.t_last
                    parts.append(piece)
                    r.chunks += 1
                if obj.get("done") or obj.get("stop") or obj.get("usage"):
                    final = obj
        r.total = time.perf_counter() - t0
        r.text = "".join(parts)
        if final is not None:
            self._final(r, final)
        return r

    def _piece(self, obj: dict) -> str:
        """The generated text in a response or a streamed chunk."""
        if self.t.api == "openai":
            ch = (obj.get("choices") or [{}])[0]
            return (ch.get("delta") or ch.get("message") or {}).get("content") or ""
        if self.t.api == "chat":
            return (obj.get("message") or {}).get("content") or ""
        return obj.get("response", obj.get("content", ""))

    def _final(self, r: Result, obj: dict):
        r.raw_final = {k: v for k, v in obj.items() if k not in ("response", "content", "context", "choices", "message")}
        if self.t.api == "openai":
            u = obj.get("usage") or {}
            r.tokens = int(u.get("completion_tokens", r.chunks))
            r.prompt_tokens = int(u.get("prompt_tokens", 0))
            tm = obj.get("timings") or {}  # llama-server adds its own timings; ebb's /v1 has none
            if "predicted_ms" in tm:
                r.eval_s = tm["predicted_ms"] / 1e3
            if "prompt_ms" in tm:
                r.prompt_s = tm["prompt_ms"] / 1e3
        elif self.t.kind == "ebb":
            r.tokens = int(obj.get("eval_count", 0))
            r.prompt_tokens = int(obj.get("prompt_eval_count", 0))
            if "eval_duration" in obj:
                r.eval_s = obj["eval_duration"] / 1e9
            if "prompt_eval_duration" in obj:
                r.prompt_s = obj["prompt_eval_duration"] / 1e9
        else:
            tm = obj.get("timings", {})
            r.tokens = int(obj.get("tokens_predicted", tm.get("predicted_n", 0)))
            r.prompt_tokens = int(tm.get("prompt_n", obj.get("tokens_evaluated", 0)))
            if "predicted_ms" in tm:
                r.eval_s = tm["predicted_ms"] / 1e3
            if "prompt_ms" in tm:
                r.prompt_s = tm["prompt_ms"] / 1e3


def one(target: Target, prompt: str, n_predict: int, stream: bool = True, seed: int = 42, extra=None) -> Result:
    """One request on a fresh connection."""
    c = Client(target)
    try:
        return c.generate(prompt, n_predict, stream=stream, seed=seed, extra=extra)
    finally:
        c.close()


def latency_series(target: Target, prompt: str, n_predict: int, n: int, stream: bool = False,
                   warmup: int = 2, keepalive: bool = True) -> list[Result]:
    """n sequential requests from one client (one kept-alive connection, or a new connection per
    request with keepalive=False), after `warmup` unmeasured ones."""
    c = Client(target, keepalive=keepalive)
    try:
        for _ in range(warmup):
            c.generate(prompt, n_predict, stream=stream)
        return [c.generate(prompt, n_predict, stream=stream) for _ in range(n)]
    finally:
        c.close()


def concurrent(target: Target, prompts: list[str], n_predict: int, clients: int, duration: float,
               stream: bool = False, keepalive: bool = True) -> dict:
    """`clients` threads send requests back to back for `duration` seconds (requests started
    before the deadline finish). Reports aggregate generated tokens/s and QPS over the wall
    time from start to the last response."""
    lock = threading.Lock()
    results: list[Result] = []
    start_barrier = threading.Barrier(clients + 1)
    deadline = [0.0]

    def worker(i: int):
        c = Client(target, keepalive=keepalive)
        mine = []
        k = i
        start_barrier.wait()
        while time.perf_counter() < deadline[0]:
            mine.append(c.generate(prompts[k % len(prompts)], n_predict, stream=stream))
            k += clients
        c.close()
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    t0 = time.perf_counter()
    deadline[0] = t0 + duration
    start_barrier.wait()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    ok = [r for r in results if r.ok]
    toks = sum(r.tokens for r in ok)
    lat = [r.total for r in ok]
    return {
        "clients": clients, "keepalive": keepalive, "stream": stream, "duration_s": duration, "wall_s": wall,
        "requests": len(results), "ok": len(ok), "errors": len(results) - len(ok),
        "first_error": next((r.error for r in results if not r.ok), ""),
        "tokens": toks, "tok_per_s": toks / wall if wall else 0.0, "qps": len(ok) / wall if wall else 0.0,
        "tokens_per_request": toks / len(ok) if ok else 0.0,
        # server-side decode rate (tokens / eval time, per request): tells slow compute (machine,
        # engine) from slow delivery (HTTP, scheduling) when the client-side figure drops
        "server_decode_tok_s_p50": statistics.median([r.tokens / r.eval_s for r in ok if r.eval_s]) if any(r.eval_s for r in ok) else None,
        "latency_p50_s": statistics.median(lat) if lat else None,
        "latency_p90_s": percentile(lat, 0.9) if lat else None,
        # where the rest of a request's time goes: waiting for the first token, and the server's
        # own prompt-processing time
        "ttft_p50_s": statistics.median([r.ttft for r in ok if r.ttft is not None]) if any(r.ttft is not None for r in ok) else None,
        "server_prompt_s_p50": statistics.median([r.prompt_s for r in ok if r.prompt_s]) if any(r.prompt_s for r in ok) else None,
    }


def percentile(xs: list[float], q: float) -> float:
    s = sorted(xs)
    if not s:
        return float("nan")
    k = (len(s) - 1) * q
    f = int(k)
    c = min(f + 1, len(s) - 1)
    return s[f] + (s[c] - s[f]) * (k - f)


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def interleave(runs: int, fns: dict, wrap=None) -> dict:
    """Run each named measurement `runs` times, interleaved (A B B A A B ...: the order flips every
    round so neither side always goes first). `wrap(fn, label)` runs each measurement (e.g. waits
    for the machine to be quiet, repeats one disturbed by other load). Returns {name: [values...]}."""
    out = {k: [] for k in fns}
    names = list(fns)
    for i in range(runs):
        order = names if i % 2 == 0 else list(reversed(names))
        for k in order:
            out[k].append(wrap(fns[k], k) if wrap else fns[k]())
    return out


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="one-off load generator")
    ap.add_argument("--kind", choices=["ebb", "peer"], required=True)
    ap.add_argument("--api", choices=["", "openai", "chat"], default="",
                    help="openai: /v1/chat/completions; chat: ebb's /api/chat (default: /api/generate or /completion)")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--model", default="")
    ap.add_argument("--prompt", default="The quick brown fox")
    ap.add_argument("-n", "--n-predict", type=int, default=16)
    ap.add_argument("-c", "--clients", type=int, default=1)
    ap.add_argument("-d", "--duration", type=float, default=10)
    ap.add_argument("--stream", action="store_true")
    ap.add_argument("--fresh", action="store_true", help="new TCP connection per request")
    a = ap.parse_args()
    tg = Target(a.kind, a.port, a.model, api=a.api)
    print(json.dumps(concurrent(tg, [a.prompt], a.n_predict, a.clients, a.duration, a.stream, not a.fresh), indent=1))
