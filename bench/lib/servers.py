"""Start/stop ebb serve and llama-server for benchmarks; machine facts; RSS; page-cache eviction.

Every server started here is killed (its whole process group) at exit, on SIGINT/SIGTERM too.
"""
from __future__ import annotations

import atexit
import http.client
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EBB = Path(os.environ.get("EBB_BIN", REPO / "build" / "ebb"))
# The pinned llama.cpp's version and cache, as scripts/llama-deps.sh and bench/build-peer.sh use them.
LLAMA_VERSION = (REPO / "cmake" / "llama-version.txt").read_text().strip()
CACHE = Path(os.environ.get("EBB_CACHE", Path.home() / ".cache/ebb"))
PEER_DIR = Path(os.environ.get("EBB_PEER_BIN", CACHE / f"llama.cpp-{LLAMA_VERSION}" / "build-peer" / "bin"))
LLAMA_SERVER = PEER_DIR / "llama-server"
LLAMA_BENCH = PEER_DIR / "llama-bench"

_procs: list[subprocess.Popen] = []


def _cleanup(*_):
    for p in list(_procs):
        stop(p)


atexit.register(_cleanup)


def _on_signal(signum, _frame):
    _cleanup()
    sys.exit(128 + signum)


signal.signal(signal.SIGINT, _on_signal)
signal.signal(signal.SIGTERM, _on_signal)


def stop(p: subprocess.Popen, timeout: float = 10.0):
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
    # children left in the group (runners, router children) go too
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if p in _procs:
        _procs.remove(p)


def http_json(port: int, method: str, path: str, body=None, timeout: float = 600.0):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = json.dumps(body).encode() if body is not None else None
        c.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
        r = c.getresponse()
        raw = r.read()
        try:
            return r.status, json.loads(raw) if raw else None
        except json.JSONDecodeError:
            return r.status, raw.decode(errors="replace")
    finally:
        c.close()


def _wait_http(port: int, path: str, p: subprocess.Popen, log: Path, timeout: float = 120.0, ok=lambda s, b: s == 200):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if p.poll() is not None:
            raise RuntimeError(f"server on :{port} exited ({p.returncode}); log {log}:\n" + log.read_text()[-3000:])
        try:
            s, b = http_json(port, "GET", path, timeout=2)
            if ok(s, b):
                return
        except (ConnectionError, OSError, http.client.HTTPException):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server on :{port} not ready after {timeout}s; log {log}")


def start_ebb(models_dir: str, port: int, log: Path, config: str | None = None, device_memory: str | None = None,
              headroom: str | None = None, env: dict | None = None, exe: Path | None = None) -> subprocess.Popen:
    """exe: the ebb binary to run (default EBB; a baseline run passes the old binary)."""
    cmd = [str(exe or EBB), "serve", "--models", str(models_dir), "--host", f"127.0.0.1:{port}"]
    if config:
        cmd += ["--config", str(config)]
    if device_memory:
        cmd += ["--device-memory", str(device_memory)]
    if headroom is not None:
        cmd += ["--headroom", str(headroom)]
    f = open(log, "ab")
    f.write(("$ " + " ".join(cmd) + "\n").encode())
    f.flush()
    p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, start_new_session=True,
                         env={**os.environ, **(env or {})})
    _procs.append(p)
    _wait_http(port, "/api/version", p, log)
    return p


def start_peer(args: list[str], port: int, log: Path, ready_path: str = "/health") -> subprocess.Popen:
    cmd = [str(LLAMA_SERVER), "--host", "127.0.0.1", "--port", str(port), "--no-webui"] + [str(a) for a in args]
    f = open(log, "ab")
    f.write(("$ " + " ".join(cmd) + "\n").encode())
    f.flush()
    p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, start_new_session=True)
    _procs.append(p)
    _wait_http(port, ready_path, p, log, timeout=300)
    return p


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def rss_detail(pid: int) -> dict:
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k = line.split(":")[0]
            if k in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
                out[k] = int(line.split()[1]) * 1024
    return out


def evict_file(path: str):
    """Drop one file's pages from the page cache (cold-file benchmarks)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def machine() -> dict:
    def sh(c):
        try:
            return subprocess.run(c, shell=True, capture_output=True, text=True, timeout=10).stdout.strip()
        except Exception:  # noqa: BLE001
            return ""
    model = ""
    for line in sh("lscpu").splitlines():
        if line.startswith("Model name:"):
            model = line.split(":", 1)[1].strip()
    mem_kb = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "ram_gib": round(mem_kb / 1024 / 1024, 1),
        "os": sh(". /etc/os-release && echo $PRETTY_NAME"),
        "kernel": sh("uname -r"),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "commit": sh(f"git -C {REPO} rev-parse --short HEAD"),
        "ebb_binary": ebb_fingerprint(),
        "dirty": bool(sh(f"git -C {REPO} status --porcelain -- src CMakeLists.txt")),
        "loadavg_start": sh("cat /proc/loadavg"),
        "cpu_pressure_start": cpu_pressure(),
    }


def ebb_fingerprint(path: Path | None = None) -> str:
    """The binary under test (or `path`): sha256 prefix and build time (it may be newer than HEAD's commit)."""
    import hashlib
    path = Path(path or EBB)
    try:
        h = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        return f"{path} sha256:{h} built {time.strftime('%Y-%m-%d %H:%M:%S %Z', time.gmtime(path.stat().st_mtime))}"
    except OSError:
        return ""


def cpu_pressure() -> str:
    """/proc/pressure/cpu 'some' line: the share of time runnable tasks waited for a CPU (contention
    from anything else running on the machine)."""
    try:
        return open("/proc/pressure/cpu").readline().strip()
    except OSError:
        return ""


def ensure_model(path: Path, params: str, quant: str, seed: int = 1, extra: list[str] | None = None) -> Path:
    if not path.exists():
        subprocess.run([str(EBB), "synth", "--out", str(path), "--params", params, "--quant", quant,
                        "--seed", str(seed)] + (extra or []), check=True, stdout=subprocess.DEVNULL)
    return path


def write_results(name: str, data: dict, markdown: str) -> tuple[Path, Path]:
    d = REPO / "bench" / "results"
    d.mkdir(parents=True, exist_ok=True)
    day = time.strftime("%Y-%m-%d")
    j = d / f"{day}-{name}.json"
    m = d / f"{day}-{name}.md"
    j.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")
    m.write_text(markdown)
    return m, j


def cached_bytes(path: str) -> int | None:
    """Bytes of `path` in the page cache (util-linux fincore), None if fincore is missing."""
    try:
        out = subprocess.run(["fincore", "--bytes", "--noheadings", "--output", "RES", str(path)],
                             capture_output=True, text=True, timeout=10).stdout.strip()
        return int(out.split()[0]) if out else None
    except (FileNotFoundError, ValueError, IndexError, subprocess.TimeoutExpired):
        return None


def toml_config(path, models: list[dict], memory: dict | None = None):
    """Write an ebb TOML config: [memory] keys and [[model]] entries (values: str/int/bool)."""
    def v(x):
        if isinstance(x, bool):
            return "true" if x else "false"
        if isinstance(x, (int, float)):
            return str(x)
        return json.dumps(str(x))
    lines = []
    if memory:
        lines.append("[memory]")
        lines += [f"{k} = {v(x)}" for k, x in memory.items()]
        lines.append("")
    for m in models:
        lines.append("[[model]]")
        lines += [f"{k} = {v(x)}" for k, x in m.items()]
        lines.append("")
    Path(path).write_text("\n".join(lines))
    return path


def listen_overflows() -> int:
    """System-wide TcpExt ListenOverflows: connections dropped because a listen backlog was full."""
    try:
        lines = open("/proc/net/netstat").read().splitlines()
        for h, v in zip(lines[::2], lines[1::2]):
            if h.startswith("TcpExt:"):
                return int(dict(zip(h.split()[1:], v.split()[1:]))["ListenOverflows"])
    except (OSError, KeyError, ValueError):
        pass
    return -1
