#!/usr/bin/env python3
"""N concurrent streaming clients against an OpenAI-compatible server: dilmodeli serve, and
llama-server on the same file when given, in one run, alternating.

usage: scripts/bench-serve.py MODEL.gguf [--clients 1,2,4,8] [--parallel 8] [--max-tokens 64]
                              [--requests 2] [--rounds 3] [--threads 2] [--ctx 512]
                              [--llama-server PATH] [--dilmodeli BIN]

Each round starts each server (ours first in even rounds, llama-server first in odd ones) with
--parallel slots, and for every client count N runs N threads that each send --requests streaming
/v1/completions requests one after another (greedy, a fixed max_tokens, `ignore_eos` so every
request generates the same count). Per server and N it reports aggregate generated tokens per
second (all clients' tokens over the wall time), time to first token p50 / p99 and time between
tokens p50. The result is each figure's median over the rounds, and ours / llama-server's ratios.
Prints one JSON document on stdout and a table on stderr. Python 3 standard library only.
"""
import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PROMPTS = ["Once upon a time", "The little dog ran to", "Tom and Sue went to the park and",
           "One day, a girl named Mia", "The sun was hot and the", "A big red ball rolled",
           "Lily had a cat that", "The bird sang a song about"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd, port):
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(600):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/health")
            if c.getresponse().status == 200:
                return proc
        except OSError:
            pass
        if proc.poll() is not None:
            sys.exit(f"bench-serve: {' '.join(cmd)} exited with {proc.returncode}")
        time.sleep(0.1)
    proc.kill()
    sys.exit(f"bench-serve: {' '.join(cmd)} did not become healthy")


def one_request(port, prompt, max_tokens):
    """Streams one completion; returns (time to first token, gaps between tokens, tokens)."""
    body = json.dumps({"prompt": prompt, "max_tokens": max_tokens, "temperature": 0, "stream": True,
                       "ignore_eos": True, "n_predict": max_tokens})
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    start = time.perf_counter()
    c.request("POST", "/v1/completions", body, {"Content-Type": "application/json"})
    r = c.getresponse()
    if r.status != 200:
        sys.exit(f"bench-serve: HTTP {r.status}: {r.read()[:300]}")
    first, last, gaps, tokens = None, None, [], 0
    for raw in r:
        line = raw.decode().strip()
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        chunk = json.loads(line[6:])
        choices = chunk.get("choices") or []
        if not choices or not choices[0].get("text"):
            continue
        now = time.perf_counter()
        if first is None:
            first = now - start
        else:
            gaps.append(now - last)
        last = now
        tokens += 1  # a chunk a step; text may merge a few tokens, so usage below corrects the count
    c.close()
    return first or 0.0, gaps, tokens


def load(port, clients, requests, max_tokens):
    results, lock = [], threading.Lock()

    def client(i):
        for k in range(requests):
            r = one_request(port, PROMPTS[(i + k) % len(PROMPTS)], max_tokens)
            with lock:
                results.append(r)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    ttft = sorted(r[0] for r in results)
    gaps = sorted(g for r in results for g in r[1])
    pct = lambda xs, q: xs[min(len(xs) - 1, int(q * len(xs)))] if xs else 0.0
    return {"tok_per_s": clients * requests * max_tokens / wall, "ttft_p50_ms": 1000 * pct(ttft, 0.5),
            "ttft_p99_ms": 1000 * pct(ttft, 0.99), "tbt_p50_ms": 1000 * pct(gaps, 0.5), "wall_s": wall}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--clients", default="1,2,4,8")
    ap.add_argument("--parallel", type=int, default=8)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--requests", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ctx", type=int, default=512)
    ap.add_argument("--llama-server")
    ap.add_argument("--dilmodeli", default=os.path.join(ROOT, "build", "apps", "dilmodeli", "dilmodeli"))
    a = ap.parse_args()
    clients = [int(x) for x in a.clients.split(",")]

    def ours(port):
        return [a.dilmodeli, "serve", "-m", a.model, "--port", str(port), "--parallel", str(a.parallel),
                "--ctx", str(a.ctx), "--threads", str(a.threads), "--no-mmap"]

    def theirs(port):
        # llama-server's --ctx-size is shared by its slots.
        return [a.llama_server, "-m", a.model, "--port", str(port), "-np", str(a.parallel), "-c",
                str(a.ctx * a.parallel), "-t", str(a.threads), "-tb", str(a.threads), "--no-webui", "-cb"]

    servers = [("dilmodeli", ours)] + ([("llama-server", theirs)] if a.llama_server else [])
    rounds = {name: {n: [] for n in clients} for name, _ in servers}
    for rnd in range(a.rounds):
        order = servers if rnd % 2 == 0 else list(reversed(servers))
        for name, cmd in order:
            port = free_port()
            proc = start(cmd(port), port)
            try:
                load(port, 1, 1, 8)  # warm-up
                for n in clients:
                    r = load(port, n, a.requests, a.max_tokens)
                    rounds[name][n].append(r)
                    print(f"round {rnd} {name:12s} clients {n}: {r['tok_per_s']:.1f} tok/s, "
                          f"ttft p50 {r['ttft_p50_ms']:.1f} ms", file=sys.stderr)
            finally:
                proc.terminate()
                proc.wait(timeout=30)
    result = {"model": a.model, "parallel": a.parallel, "threads": a.threads, "max_tokens": a.max_tokens,
              "requests_per_client": a.requests, "rounds": a.rounds, "servers": {}}
    for name, _ in servers:
        result["servers"][name] = {
            str(n): {k: statistics.median(r[k] for r in rounds[name][n]) for k in rounds[name][n][0]} for n in clients}
    if a.llama_server:
        result["ratios"] = {
            str(n): {"tok_per_s": statistics.median(o["tok_per_s"] / t["tok_per_s"] for o, t in
                                                    zip(rounds["dilmodeli"][n], rounds["llama-server"][n])),
                     "ttft_p50": statistics.median(o["ttft_p50_ms"] / t["ttft_p50_ms"] for o, t in
                                                   zip(rounds["dilmodeli"][n], rounds["llama-server"][n]))}
            for n in clients}
    ours1 = result["servers"]["dilmodeli"][str(clients[0])]["tok_per_s"]
    for n in clients:
        line = f"clients {n}: dilmodeli {result['servers']['dilmodeli'][str(n)]['tok_per_s']:.1f} tok/s " \
               f"({result['servers']['dilmodeli'][str(n)]['tok_per_s'] / ours1:.2f}x of {clients[0]})"
        if a.llama_server:
            line += f", llama-server {result['servers']['llama-server'][str(n)]['tok_per_s']:.1f}, " \
                    f"ratio {result['ratios'][str(n)]['tok_per_s']:.2f}, ttft ratio {result['ratios'][str(n)]['ttft_p50']:.2f}"
        print(line, file=sys.stderr)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
