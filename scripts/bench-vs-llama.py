#!/usr/bin/env python3
"""dilmodeli against llama.cpp's llama-bench on the same files, in one run, alternating.

usage: scripts/bench-vs-llama.py --llama-bench PATH [--rounds 3] [--reps 5] [--threads 1,2]
                                 [-p 128] [-n 64] [--dilmodeli BIN] [MODEL.gguf ...]

perf.md's figures were taken on another machine at another time, and machines here drift by
tens of percent within minutes, so the issue's targets are ratios measured in one run. Each
round runs both programs on every model (in turns: ours first in even rounds, llama-bench first
in odd ones), each doing pp and tg `--reps` times at every thread count and reporting its median;
a round's ratio is ours over llama.cpp's, and the result is the median of the rounds' ratios.
Both programs read the same file (`dilmodeli synth` writes them; llama.cpp loads them as its
own). The STREAM triad and plain read bandwidth (from `dilmodeli profile`) are measured before
each round, so the 1B rows' roofline shares (generation tok/s x file bytes / triad at 2 threads)
use the bandwidth of their own minutes (the triad; streaming weights reads rather than copies,
and the plain read figure is in the JSON beside it). Peak RSS is each process's own maximum
(wait4), which for a forked child is at least the few MiB of the Python process it started as.

Without MODEL arguments: bench-models/{110M,1B}-{F32,F16,Q8_0,Q4_0,Q4_K}.gguf that exist
(scripts/bench.sh makes them). llama-bench is not built here: pass one you built yourself (CPU,
Release). Prints one JSON document on stdout and a table on stderr. Python 3 standard library.
"""
import argparse
import json
import os
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
STORIES = os.path.join(ROOT, "..", "shared", "models", "stories260K", "stories260K.gguf")


def run_with_rss(cmd):
    """Runs cmd and returns (stdout, peak RSS in MiB of that process alone)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        pid = os.fork()
        if pid == 0:
            try:
                os.dup2(out.fileno(), 1)
                os.dup2(err.fileno(), 2)
                os.execv(cmd[0], cmd)
            except OSError as e:
                os.write(2, f"cannot run {cmd[0]}: {e}".encode())
            finally:
                os._exit(127)
        _, status, usage = os.wait4(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            err.seek(0)
            sys.exit(f"bench-vs-llama: {' '.join(cmd)} exited with {code}: {err.read().decode()[-400:].strip()}")
        out.seek(0)
        return out.read().decode(), usage.ru_maxrss / 1024.0


def bandwidth(dilmodeli):
    """STREAM triad and read GB/s at 1 and 2 threads, from `dilmodeli profile`."""
    if not os.path.exists(STORIES):
        return None
    out, _ = run_with_rss([dilmodeli, "-q", "profile", "-m", STORIES, "-n", "1", "--ladder-max", "16K",
                           "--no-thread-scaling", "--json"])
    stream = json.loads(out)["machine"]["bandwidth"]["stream"]
    return {str(s["threads"]): {"triad": s["triad_gb_per_s"], "read": s["read_gb_per_s"]} for s in stream}


def ours(dilmodeli, model, args):
    out, rss = run_with_rss([dilmodeli, "-q", "bench", "-m", model, "-p", str(args.p), "-n", str(args.n),
                             "-r", str(args.reps), "-t", args.threads, "--json"])
    result = json.loads(out)
    figures = {}
    for run in result["runs"]:
        figures[str(run["threads"])] = {"pp": statistics.median(run["pp_runs"]),
                                        "tg": statistics.median(run["tg_runs"])}
    return figures, rss


def llama(llama_bench, model, args):
    out, rss = run_with_rss([llama_bench, "-m", model, "-p", str(args.p), "-n", str(args.n),
                             "-r", str(args.reps), "-t", args.threads, "-o", "json"])
    figures = {}
    for test in json.loads(out):
        kind = "pp" if test["n_gen"] == 0 else "tg"
        figures.setdefault(str(test["n_threads"]), {})[kind] = statistics.median(test["samples_ts"])
    return figures, rss


def default_models():
    names = [f"{shape}-{t}.gguf" for shape in ("110M", "1B") for t in ("F32", "F16", "Q8_0", "Q4_0", "Q4_K")]
    return [p for p in (os.path.join(ROOT, "bench-models", n) for n in names) if os.path.exists(p)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--llama-bench", required=True)
    ap.add_argument("--dilmodeli", default=os.path.join(ROOT, "build", "apps", "dilmodeli", "dilmodeli"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("-p", type=int, default=128)
    ap.add_argument("-n", type=int, default=64)
    ap.add_argument("models", nargs="*")
    args = ap.parse_args()
    for tool in (args.llama_bench, args.dilmodeli):
        if not os.access(tool, os.X_OK):
            sys.exit(f"bench-vs-llama: {tool}: not an executable file")
    args.threads = ",".join(t.strip() for t in args.threads.split(",") if t.strip())
    models = args.models or default_models()
    if not models:
        sys.exit("bench-vs-llama: no models given and none in bench-models/ (run scripts/bench.sh first)")

    rounds = []
    for r in range(args.rounds):
        bw = bandwidth(args.dilmodeli)
        entry = {"round": r, "bandwidth": bw, "models": {}}
        for model in models:
            print(f"bench-vs-llama: round {r + 1}/{args.rounds} {os.path.basename(model)}", file=sys.stderr)
            order = [("dilmodeli", ours, args.dilmodeli), ("llama.cpp", llama, args.llama_bench)]
            if r % 2:
                order.reverse()
            measured = {}
            for name, fn, binary in order:
                figures, rss = fn(binary, model, args)
                measured[name] = {"tok_per_s": figures, "peak_rss_mib": rss}
            entry["models"][model] = measured
        rounds.append(entry)

    summary = []
    for model in models:
        size = os.path.getsize(model)
        row = {"model": model, "file_bytes": size, "threads": {}}
        for t in args.threads.split(","):
            cell = {}
            for kind in ("pp", "tg"):
                ours_ts = [e["models"][model]["dilmodeli"]["tok_per_s"][t][kind] for e in rounds]
                theirs = [e["models"][model]["llama.cpp"]["tok_per_s"][t][kind] for e in rounds]
                cell[kind] = {"dilmodeli": statistics.median(ours_ts), "llama.cpp": statistics.median(theirs),
                              "ratio": statistics.median(a / b for a, b in zip(ours_ts, theirs)),
                              "ratios": [a / b for a, b in zip(ours_ts, theirs)]}
            measured = [e for e in rounds if e["bandwidth"] and t in e["bandwidth"]]
            if measured:
                for name in ("dilmodeli", "llama.cpp"):
                    shares = [e["models"][model][name]["tok_per_s"][t]["tg"] * size / 1e9 / e["bandwidth"][t]["triad"]
                              for e in measured]
                    cell["tg"][name + "_roofline_share"] = statistics.median(shares)
            row["threads"][t] = cell
        row["peak_rss_mib"] = {name: max(e["models"][model][name]["peak_rss_mib"] for e in rounds)
                               for name in ("dilmodeli", "llama.cpp")}
        summary.append(row)

    json.dump({"machine": {"cpu": cpu_name(), "cores": os.cpu_count()}, "rounds": rounds, "summary": summary},
              sys.stdout, indent=1)
    print()
    print_table(summary, args.threads.split(","))


def cpu_name():
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


def print_table(summary, threads):
    print("tok/s (medians over rounds) and the median of the rounds' ratios", file=sys.stderr)
    head = "model".ljust(14) + "".join(f"{k}{t}: ours / llama / ratio".rjust(34) for t in threads for k in ("pp", "tg"))
    print(head, file=sys.stderr)
    for row in summary:
        line = os.path.basename(row["model"]).removesuffix(".gguf").ljust(14)
        for t in threads:
            for kind in ("pp", "tg"):
                c = row["threads"][t][kind]
                line += f"{c['dilmodeli']:10.1f} /{c['llama.cpp']:10.1f} /{c['ratio']:6.2f}x".rjust(34)
        print(line, file=sys.stderr)
        shares = row["threads"].get(threads[-1], {}).get("tg", {})
        roofline = ""
        if "dilmodeli_roofline_share" in shares:
            roofline = (f"tg share of the triad at {threads[-1]} threads: ours "
                        f"{100 * shares['dilmodeli_roofline_share']:.1f}%, llama.cpp "
                        f"{100 * shares['llama.cpp_roofline_share']:.1f}%; ")
        print(f"{'':14}{roofline}peak RSS MiB ours {row['peak_rss_mib']['dilmodeli']:.1f}, llama.cpp "
              f"{row['peak_rss_mib']['llama.cpp']:.1f}, file {row['file_bytes'] / 2**20:.1f}", file=sys.stderr)


if __name__ == "__main__":
    main()
