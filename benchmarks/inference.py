"""Fast inference, measured as ratios in one run: cold start, generation speed, the server under load.

    python benchmarks/inference.py                           # everything; JSON in benchmarks/results/
    python benchmarks/inference.py --only single,batched     # some parts
    python benchmarks/inference.py --rounds 7 --requests 300 --clients 32

Every measurement runs against a reference measured in the same run, alternating rounds, so a
busy machine slows both alike; the ratios are the result, absolute numbers are reported beside.

* **cold**: wall time of ``rnnlab poem 床前明月光 --seed 1`` (a fresh process) against
  ``python -c "import torch"`` and ``python -c "import numpy, safetensors.numpy"``; also
  ``rnnlab --help`` and ``rnnlab poem --help``. Medians of ``--rounds``. Goal: poem ≤ 0.3× torch.
* **single**: characters per second on one thread with the bundled model, against a *bare
  NumPy loop of the same shape* (embedding, 2×384 LSTM, projection, tied softmax over V = 9,008,
  inverse-CDF sampling, float32, written out below without any rnnlab code):
  ``numpy_decode_1`` is the engine's decoding loop (``sample`` of 200 tokens with the poem
  settings: temperature 0.8, top-p 0.9, repetition penalty 1.2), ``numpy_decode_plain_1`` the
  same loop doing only what the bare loop does (softmax sampling), ``numpy_poem_1`` whole
  requests (``Poet.write`` of one 五言绝句 from 床前明月光: checks, the prompt read first, the form
  constraint; characters the model wrote). Goal: ≥ 1,000 characters/s and ≥ 0.9× the bare loop
  (judged on ``numpy_decode_1``). The torch engine is measured too, for reference.
* **batched**: the same with 64 poems (rows) at once against the bare loop at batch 64. Goal:
  ≥ 5,000 characters/s.
* **server**: ``rnnlab serve`` on 127.0.0.1 (a subprocess); a bounded load generator sends
  ``--requests`` poem requests, first from one client at a time, then from ``--clients``
  concurrent clients; throughput, p50/p99 latency and failures. Goal: concurrent throughput
  ≥ 3× one client, p99 ≤ 1.5 s, nothing dropped.

Threads: BLAS and torch are held to one thread in this process (set before NumPy loads), and the
server is started with ``--threads 1``.
"""

# ruff: noqa: E402  (BLAS thread variables must be set before NumPy is imported)
from __future__ import annotations

import os

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"  # before NumPy loads: BLAS reads these once

import argparse
import asyncio
import json
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
RESULTS = ROOT / "benchmarks" / "results" / "inference.json"
PROMPT = "床前明月光"

if TYPE_CHECKING:
    from benchmarks.suite import Context, Section


def env_with_src() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(SRC) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def median(values: list[float]) -> float:
    return float(statistics.median(values))


# ----------------------------------------------------------------------------------------- cold


def wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=env_with_src())
    return time.perf_counter() - start


def cold(rounds: int) -> dict[str, Any]:
    py = sys.executable
    commands = {
        "poem": [py, "-m", "rnnlab", "poem", PROMPT, "--seed", "1"],
        "help": [py, "-m", "rnnlab", "--help"],
        "poem_help": [py, "-m", "rnnlab", "poem", "--help"],
        "import_torch": [py, "-c", "import torch"],
        "import_numpy_safetensors": [py, "-c", "import numpy, safetensors.numpy"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for cmd in commands.values():
        wall(cmd)  # warm the file cache once
    for _ in range(rounds):
        for name, cmd in commands.items():
            times[name].append(wall(cmd))
    med = {name: median(t) for name, t in times.items()}
    torch_s = med["import_torch"]
    return {
        "seconds": med,
        "ratio_to_import_torch": {name: med[name] / torch_s for name in ("poem", "help", "poem_help")},
        "goal": "poem ≤ 0.5 s and ≤ 0.3× import torch",
        "met": med["poem"] <= 0.5 and med["poem"] / torch_s <= 0.3,
    }


# ---------------------------------------------------------------------------------- bare loop


class BareLoop:
    """The reference: the bundled model's shape decoded by the plainest NumPy loop, no rnnlab code.

    x = E[id]; per layer gates = x W_ihᵀ + h W_hhᵀ + b, i f g o, c = f c + i g, h = o tanh c;
    z = (h P ᵀ) Eᵀ + b_out; p = softmax(z); id = first index where cumsum(p) > u.
    """

    def __init__(self, folder: Path) -> None:
        from safetensors.numpy import load_file

        w = {k: v.astype(np.float32) for k, v in load_file(str(folder / "model.safetensors")).items()}
        self.emb = w["embedding.weight"]
        self.layers = []
        k = 0
        while f"rnn.weight_ih_l{k}" in w:
            b = w[f"rnn.bias_ih_l{k}"] + w[f"rnn.bias_hh_l{k}"]
            self.layers.append((w[f"rnn.weight_ih_l{k}"].T.copy(), w[f"rnn.weight_hh_l{k}"].T.copy(), b))
            k += 1
        self.proj = w["projection.weight"].T.copy()
        self.out_b = w["decoder.bias"]
        self.hidden = self.layers[0][1].shape[0]

    def run(self, rows: int, steps: int, seed: int = 0) -> float:
        """Characters per second over ``steps`` steps of ``rows`` rows."""
        rng = np.random.default_rng(seed)
        h = [np.zeros((rows, self.hidden), np.float32) for _ in self.layers]
        c = [np.zeros((rows, self.hidden), np.float32) for _ in self.layers]
        ids = np.full(rows, 3)
        H = self.hidden
        start = time.perf_counter()
        for _ in range(steps):
            x = self.emb[ids]
            for k, (w_ih, w_hh, b) in enumerate(self.layers):
                g = x @ w_ih + h[k] @ w_hh + b
                i = 1 / (1 + np.exp(-g[:, :H]))
                f = 1 / (1 + np.exp(-g[:, H : 2 * H]))
                o = 1 / (1 + np.exp(-g[:, 3 * H :]))
                c[k] = f * c[k] + i * np.tanh(g[:, 2 * H : 3 * H])
                h[k] = o * np.tanh(c[k])
                x = h[k]
            z = (x @ self.proj) @ self.emb.T + self.out_b
            p = np.exp(z - z.max(axis=1, keepdims=True))
            cdf = np.cumsum(p, axis=1)
            u = rng.random(rows) * cdf[:, -1]
            ids = np.minimum((cdf <= u[:, None]).sum(axis=1), len(self.out_b) - 1)
        return rows * steps / (time.perf_counter() - start)


# ----------------------------------------------------------------------------------- generation


def poem_chars(poems: list[str], prompt: str) -> int:
    """Characters the model wrote: the poems without line breaks and without the prompt."""
    return sum(len(p.replace("\n", "")) - len(prompt) for p in poems)


def generation(rounds: int) -> dict[str, Any]:
    from rnnlab.generate import DecodeConfig, PoemRequest, sample
    from rnnlab.poet import Poet
    from rnnlab.pretrained import bundled_dir

    folder = bundled_dir()
    bare = BareLoop(folder)
    numpy_poet = Poet.load(engine="numpy")
    torch_poet = Poet.load(engine="torch")
    import torch

    torch.set_num_threads(1)
    numpy_poet.tables, torch_poet.tables  # noqa: B018 (built once, as a server keeps them)

    def poems_per_second(poet: Poet, num: int, count: int) -> float:
        start, chars = time.perf_counter(), 0
        for seed in range(count):
            chars += poem_chars(poet.write(PoemRequest(prefix=PROMPT, num=num, seed=seed)), PROMPT)
        return chars / (time.perf_counter() - start)

    poem_settings = DecodeConfig(
        max_new_tokens=200, temperature=0.8, top_p=0.9, repetition_penalty=1.2, seed=0
    )
    plain = DecodeConfig(max_new_tokens=200, seed=0)  # softmax sampling only: the bare loop's work

    def decode_loop(poet: Poet, config: DecodeConfig = poem_settings) -> float:
        start = time.perf_counter()
        (ids,) = sample(poet.model, [poet.start_id, *(poet.vocab[c] for c in PROMPT)], config)
        return len(ids) / (time.perf_counter() - start)

    cases: dict[str, Callable[[], float]] = {
        "bare_numpy_1": lambda: bare.run(1, 200),
        "numpy_poem_1": lambda: poems_per_second(numpy_poet, 1, 10),
        "numpy_decode_1": lambda: decode_loop(numpy_poet),
        "numpy_decode_plain_1": lambda: decode_loop(numpy_poet, plain),
        "torch_poem_1": lambda: poems_per_second(torch_poet, 1, 5),
        "bare_numpy_64": lambda: bare.run(64, 20),
        "numpy_poem_64": lambda: poems_per_second(numpy_poet, 64, 1),
        "torch_poem_64": lambda: poems_per_second(torch_poet, 64, 1),
    }
    for case in cases.values():
        case()  # warm-up
    rates: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, case in cases.items():
            rates[name].append(case())
    med = {name: median(r) for name, r in rates.items()}
    ratios = {
        "numpy_poem_1 / bare_numpy_1": med["numpy_poem_1"] / med["bare_numpy_1"],
        "numpy_decode_1 / bare_numpy_1": med["numpy_decode_1"] / med["bare_numpy_1"],
        "numpy_decode_plain_1 / bare_numpy_1": med["numpy_decode_plain_1"] / med["bare_numpy_1"],
        "numpy_poem_1 / torch_poem_1": med["numpy_poem_1"] / med["torch_poem_1"],
        "numpy_poem_64 / bare_numpy_64": med["numpy_poem_64"] / med["bare_numpy_64"],
        "numpy_poem_64 / numpy_poem_1": med["numpy_poem_64"] / med["numpy_poem_1"],
        "numpy_poem_64 / torch_poem_64": med["numpy_poem_64"] / med["torch_poem_64"],
    }
    return {
        "chars_per_second": med,
        "ratios": ratios,
        "goal": "single ≥ 1,000 chars/s and ≥ 0.9× bare NumPy; batched ≥ 5,000 chars/s",
        "met_single": med["numpy_decode_1"] >= 1000 and ratios["numpy_decode_1 / bare_numpy_1"] >= 0.9,
        "met_batched": med["numpy_poem_64"] >= 5000,
    }


# ------------------------------------------------------------------------------------------- server

BODIES = [
    {"prefix": "床前明月光"},
    {"prefix": "春眠不觉晓"},
    {"prefix": "白日依山尽", "form": "5x8"},
    {"acrostic": "深度学习", "form": "7x4"},
    {"prefix": "春风", "rhyme": True},
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(port: int, workers: int) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "rnnlab", "serve", "--port", str(port), "--threads", "1"]
    cmd += ["--workers", str(workers)]
    proc = subprocess.Popen(cmd, env=env_with_src(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # a benchmark may poll: nothing here is a test
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/models", timeout=5).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"rnnlab serve did not start on port {port}")


async def load(url: str, requests: int, clients: int, timeout: float) -> dict[str, Any]:
    """``requests`` poem requests from ``clients`` concurrent clients (each sends its next request
    when its previous one is answered); latencies, failures, requests per second."""
    import httpx

    latencies: list[float] = []
    failures: list[str] = []
    sent = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal sent
        while sent < requests:
            i = sent
            sent += 1
            body = {**BODIES[i % len(BODIES)], "seed": i}
            start = time.perf_counter()
            try:
                response = await http.post(url, json=body)
                ok = response.status_code == 200 and len(response.json()["poems"]) == 1
                if not ok:
                    failures.append(f"{response.status_code}: {response.text[:100]}")
            except httpx.HTTPError as err:
                failures.append(repr(err))
            latencies.append(time.perf_counter() - start)

    async with httpx.AsyncClient(timeout=timeout, limits=limits) as http:
        start = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(clients)))
        elapsed = time.perf_counter() - start
    lat = np.array(latencies)
    return {
        "requests": requests,
        "clients": clients,
        "requests_per_second": requests / elapsed,
        "p50_s": float(np.percentile(lat, 50)),
        "p99_s": float(np.percentile(lat, 99)),
        "max_s": float(lat.max()),
        "failed": len(failures),
        "failures": failures[:5],
    }


def server(requests: int, clients: int, workers: int, timeout: float) -> dict[str, Any]:
    port = free_port()
    proc = start_server(port, workers)
    url = f"http://127.0.0.1:{port}/api/poems"
    try:
        asyncio.run(load(url, 2 * clients, clients, timeout))  # warm-up: models loaded, tables built
        alone_before = asyncio.run(load(url, max(requests // 5, 20), 1, timeout))
        together = asyncio.run(load(url, requests, clients, timeout))
        alone_after = asyncio.run(load(url, max(requests // 5, 20), 1, timeout))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    alone_rps = (alone_before["requests_per_second"] + alone_after["requests_per_second"]) / 2
    ratio = together["requests_per_second"] / alone_rps
    return {
        "workers": workers,
        "one_client_before": alone_before,
        "concurrent": together,
        "one_client_after": alone_after,
        "throughput_ratio": ratio,
        "goal": "throughput ≥ 3× one client, p99 ≤ 1.5 s, nothing dropped",
        "met": ratio >= 3 and together["p99_s"] <= 1.5 and together["failed"] == 0,
    }


# --------------------------------------------------------------------------------------- main


def suite_entry(ctx: Context) -> list[Section]:
    """`python -m benchmarks`: cold start (not in --quick) and generation speed of the NumPy engine
    against the bare NumPy loop and the torch engine, interleaved; the server part stays in main()."""
    from benchmarks.suite import Section

    sections = []
    if ctx.mode != "quick":
        start = cold(ctx.pick(1, 3, 5))
        rows = [
            {
                "command": name,
                "seconds": seconds,
                "× import torch": seconds / start["seconds"]["import_torch"],
            }
            for name, seconds in start["seconds"].items()
        ]
        sections.append(
            Section(
                "inference_cold",
                "Cold start: a new process until it exits (median of rounds)",
                ["command", "seconds", "× import torch"],
                rows,
                [f"goal: {start['goal']} — {'met' if start['met'] else 'not met'}"],
            )
        )
    speed = generation(ctx.pick(1, 3, 5))
    rates = speed["chars_per_second"]
    rows = [
        {
            "case": name,
            "chars/s": rate,
            "× bare NumPy": rate / rates["bare_numpy_64" if name.endswith("64") else "bare_numpy_1"],
        }
        for name, rate in rates.items()
    ]
    met = "met" if speed["met_single"] and speed["met_batched"] else "not met"
    sections.append(
        Section(
            "inference",
            "Generation with the bundled model: NumPy engine, bare NumPy loop, torch engine (1 thread)",
            ["case", "chars/s", "× bare NumPy"],
            rows,
            [f"goal: {speed['goal']} — {met}", "_1: one poem at a time; _64: 64 rows decoded together"],
        )
    )
    return sections


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", default="cold,generation,server", help="comma list of parts to run")
    p.add_argument("--rounds", type=int, default=5, help="alternating rounds per part; medians are kept")
    p.add_argument("--requests", type=int, default=300, help="server: requests of the concurrent run")
    p.add_argument("--clients", type=int, default=32, help="server: concurrent clients")
    p.add_argument("--server-workers", type=int, default=1, help="server: `rnnlab serve --workers`")
    p.add_argument(
        "--timeout", type=float, default=60.0, help="server: seconds before a request counts as failed"
    )
    p.add_argument("--out", type=Path, default=RESULTS, help="JSON file to write")
    args = p.parse_args()
    sys.path.insert(0, str(SRC))
    parts = set(args.only.split(","))
    result: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "load": os.getloadavg()},
        "command": " ".join(sys.argv),
    }
    if "cold" in parts:
        result["cold"] = cold(args.rounds)
        print(json.dumps(result["cold"], indent=1))
    if "generation" in parts:
        result["generation"] = generation(args.rounds)
        print(json.dumps(result["generation"], indent=1))
    if "server" in parts:
        result["server"] = server(args.requests, args.clients, args.server_workers, args.timeout)
        print(json.dumps(result["server"], indent=1))
    result["machine"]["load_after"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
