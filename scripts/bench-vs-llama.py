#!/usr/bin/env python3
"""dilmodeli against one or more llama-bench builds on the same files, in one run, in turns.

usage: scripts/bench-vs-llama.py (--peer NAME=PATH[:FLAGS] ... | --llama-bench PATH)
                                 [--rounds 3] [--reps 5] [--threads 1,2] [-p 128[,512]] [-n 64]
                                 [--isa NAME] [--dilmodeli BIN] [MODEL.gguf ...]
e.g. --peer llama.cpp=/work/llama/llama.cpp/build-avx2/bin/llama-bench
     --peer "ik_llama.cpp-rtr=/work/ik/ik_llama.cpp/build-avx2/bin/llama-bench:-rtr 1"

perf.md's figures were taken on another machine at another time, and machines here drift by
tens of percent within minutes, so the issue's targets are ratios measured in one run. Each
round runs every program (ours and each peer; `--llama-bench PATH` is `--peer llama.cpp=PATH`)
on every model, in an order rotated by one program per round (round k starts with program
k mod count; the order is printed). Each program does pp at every -p value and tg at -n, `--reps`
times at every thread count, and reports its median (dilmodeli bench takes one -p, so it runs
once per value, the tg only in the first). A round's ratio is ours over the peer's; a row's
ratio is the median of the rounds' ratios, and "vs faster" is the lowest of a row's per-peer
ratios (ours against the faster peer on that row: the issue's targets). Peers run with -o json
and their FLAGS (split as a shell would) appended; their JSON may come from llama.cpp or the
ik_llama.cpp fork (samples_ts or avg_ts, n_prompt/n_gen), and their build and CPU fields (cpu_info,
build_commit, backends, repack, ...) go into the JSON under "programs".

--isa NAME sets DILMODELI_ISA=NAME for our benchmarks (scalar, avx2, avx512, neon; dilmodeli
silently uses its best ISA for a name the CPU lacks, so that is refused here). "programs" records
the ISA asked for ("default" without --isa), the CPU's flags checked for it, and the one
`dilmodeli bench --json` reports it ran ("ran").

Both kinds of program read the same file (`dilmodeli synth` writes them; llama.cpp loads them
as its own). The STREAM triad and plain read bandwidth (from `dilmodeli profile`) are measured
before each round, so tg roofline shares (tok/s x file bytes / triad at the same thread count)
use the bandwidth of their own minutes. Peak RSS is each process's own maximum (wait4), which
for a forked child is at least the few MiB of the Python process it started as.

Without MODEL arguments: bench-models/{110M,1B}-{F32,F16,Q8_0,Q4_0,Q4_K}.gguf that exist
(scripts/bench.sh makes them). llama-bench is not built here: pass ones you built (CPU, Release).
Prints one JSON document on stdout and a table on stderr. Python 3 standard library.
"""
import argparse
import json
import os
import platform
import shlex
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
STORIES = os.path.join(ROOT, "..", "shared", "models", "stories260K", "stories260K.gguf")
OURS = "dilmodeli"
# The CPU flags lib/kernels/dispatch.cpp requires before it offers an ISA.
ISA_FLAGS = {"scalar": [], "neon": [], "avx2": ["avx2", "fma", "f16c"],
             "avx512": ["avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_vnni"]}
# llama-bench JSON fields that describe one test rather than the build, CPU or settings.
PER_TEST = {"model_filename", "model_type", "model_size", "model_n_params", "n_prompt", "n_gen", "n_depth",
            "n_threads", "test_time", "avg_ns", "stddev_ns", "avg_ts", "stddev_ts", "samples_ns", "samples_ts",
            "test"}


def die(message):
    sys.exit(f"bench-vs-llama: {message}")


def run_with_rss(cmd, env=None):
    """Runs cmd and returns (stdout, peak RSS in MiB of that process alone)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        pid = os.fork()
        if pid == 0:
            try:
                os.dup2(out.fileno(), 1)
                os.dup2(err.fileno(), 2)
                os.execve(cmd[0], cmd, env if env is not None else os.environ)
            except OSError as e:
                os.write(2, f"cannot run {cmd[0]}: {e}".encode())
            finally:
                os._exit(127)
        _, status, usage = os.wait4(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            err.seek(0)
            tail = [line.strip() for line in err.read().decode(errors="replace").splitlines() if line.strip()][-3:]
            die(f"{shlex.join(cmd)} exited with {code}" + (f": {' | '.join(tail)}" if tail else ""))
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


def run_ours(prog, model, args):
    """tok/s by thread count and test (pp<P>, tg<N>): one `dilmodeli bench` per -p value."""
    figures, peak = {}, 0.0
    for i, p in enumerate(args.p):
        n = args.n if i == 0 else 0
        out, rss = run_with_rss([prog["binary"], "-q", "bench", "-m", model, "-p", str(p), "-n", str(n),
                                 "-r", str(args.reps), "-t", args.threads, "--json"], prog["env"])
        peak = max(peak, rss)
        report = json.loads(out)
        ran = report.get("isa")
        if ran and prog["isa"].setdefault("ran", ran) != ran:
            die(f"dilmodeli ran {ran} on {model} but {prog['isa']['ran']} before")
        for run in report["runs"]:
            cell = figures.setdefault(str(run["threads"]), {})
            if run["pp_runs"]:
                cell[f"pp{p}"] = statistics.median(run["pp_runs"])
            if run["tg_runs"]:
                cell[f"tg{n}"] = statistics.median(run["tg_runs"])
    return figures, peak


def run_peer(prog, model, args):
    """tok/s by thread count and test from a llama-bench (llama.cpp's or ik_llama.cpp's) -o json."""
    cmd = [prog["binary"], "-m", model, "-p", ",".join(map(str, args.p)), "-n", str(args.n),
           "-r", str(args.reps), "-t", args.threads, "-o", "json"] + prog["flags"]
    out, rss = run_with_rss(cmd)
    try:
        tests = json.loads(out)
    except json.JSONDecodeError:
        die(f"{prog['name']}: {shlex.join(cmd)} printed no JSON")
    figures = {}
    for test in tests:
        n_prompt, n_gen = int(test.get("n_prompt", 0)), int(test.get("n_gen", 0))
        if n_prompt and n_gen:
            continue  # pp+tg or tg@pp tests: not compared
        kind = f"pp{n_prompt}" if n_prompt else f"tg{n_gen}"
        samples = test.get("samples_ts") or [test["avg_ts"]]
        figures.setdefault(str(test["n_threads"]), {})[kind] = statistics.median(samples)
        if "reported" not in prog:
            prog["reported"] = {k: v for k, v in test.items() if k not in PER_TEST}
    return figures, rss


def parse_peer(spec):
    name, sep, rest = spec.partition("=")
    if not sep or not name.strip() or not rest:
        die(f"--peer {spec!r}: expected NAME=PATH[:EXTRA FLAGS]")
    path, flags = (rest, "") if os.path.isfile(rest) else rest.partition(":")[::2]
    try:
        return {"name": name.strip(), "binary": path, "flags": shlex.split(flags), "run": run_peer}
    except ValueError as e:
        die(f"--peer {spec!r}: flags: {e}")


def cpu_flags():
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith(("flags", "Features")):
                return set(line.split(":", 1)[1].split())
    return set()


def check_isa(isa):
    """Refuses an ISA dilmodeli would not use here; returns the CPU flags that were checked."""
    if isa not in ISA_FLAGS:
        die(f"--isa {isa}: dilmodeli knows {', '.join(ISA_FLAGS)}")
    arm = platform.machine().lower() in ("aarch64", "arm64")
    missing = [f for f in ISA_FLAGS[isa] if f not in cpu_flags()]
    if missing or (isa == "neon" and not arm) or (isa in ("avx2", "avx512") and arm):
        die(f"--isa {isa}: this CPU lacks it ({' '.join(missing) or platform.machine()}); "
            "dilmodeli would silently run its best ISA instead")
    return ISA_FLAGS[isa]


def default_models():
    names = [f"{shape}-{t}.gguf" for shape in ("110M", "1B") for t in ("F32", "F16", "Q8_0", "Q4_0", "Q4_K")]
    return [p for p in (os.path.join(ROOT, "bench-models", n) for n in names) if os.path.exists(p)]


def int_list(text):
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma list of integers: {text!r}")
    if not values or min(values) <= 0:
        raise argparse.ArgumentTypeError(f"expected positive integers: {text!r}")
    return values


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--peer", action="append", default=[], metavar="NAME=PATH[:FLAGS]",
                    help="a llama-bench to compare with (repeatable); FLAGS are added to its command, e.g. -rtr 1")
    ap.add_argument("--llama-bench", metavar="PATH", help="same as --peer llama.cpp=PATH")
    ap.add_argument("--dilmodeli", default=os.path.join(ROOT, "build", "apps", "dilmodeli", "dilmodeli"))
    ap.add_argument("--isa", help="DILMODELI_ISA for our benchmarks: scalar, avx2, avx512 or neon")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int_list, default=[1, 2])
    ap.add_argument("-p", type=int_list, default=[128], help="prompt lengths, e.g. 128,512")
    ap.add_argument("-n", type=int, default=64)
    ap.add_argument("models", nargs="*")
    args = ap.parse_args()
    if args.rounds < 1 or args.reps < 1 or args.n < 1:
        die("--rounds, --reps and -n must be at least 1")
    peers = [parse_peer(s) for s in args.peer]
    if args.llama_bench:
        peers.insert(0, parse_peer(f"llama.cpp={args.llama_bench}"))
    if not peers:
        die("no peer: give --peer NAME=PATH[:FLAGS] (repeatable) or --llama-bench PATH")
    ours = {"name": OURS, "binary": args.dilmodeli, "run": run_ours, "env": dict(os.environ)}
    ours["env"].pop("DILMODELI_ISA", None)
    ours["isa"] = {"requested": args.isa or "default", "cpu_flags_checked": check_isa(args.isa) if args.isa else []}
    if args.isa:
        ours["env"]["DILMODELI_ISA"] = args.isa
    programs = [ours] + peers
    names = [p["name"] for p in programs]
    if len(set(names)) != len(names):
        die(f"program names must differ: {', '.join(names)}")
    for prog in programs:
        if not os.path.isfile(prog["binary"]) or not os.access(prog["binary"], os.X_OK):
            die(f"{prog['name']}: {prog['binary']}: not an executable file")
    args.threads = ",".join(map(str, args.threads))
    models = args.models or default_models()
    if not models:
        die("no models given and none in bench-models/ (run scripts/bench.sh first)")
    for model in models:
        if not os.path.isfile(model):
            die(f"{model}: no such file")
    ours["version"] = run_with_rss([args.dilmodeli, "--version"])[0].strip()
    kinds = [f"pp{p}" for p in args.p] + [f"tg{args.n}"]

    rounds = []
    for r in range(args.rounds):
        order = programs[r % len(programs):] + programs[:r % len(programs)]
        print(f"bench-vs-llama: round {r + 1}/{args.rounds} order: {', '.join(p['name'] for p in order)}",
              file=sys.stderr)
        entry = {"round": r, "order": [p["name"] for p in order], "bandwidth": bandwidth(args.dilmodeli),
                 "models": {}}
        for model in models:
            print(f"bench-vs-llama:   {os.path.basename(model)}", file=sys.stderr)
            measured = {}
            for prog in order:
                figures, rss = prog["run"](prog, model, args)
                for t in args.threads.split(","):
                    for kind in kinds:
                        if kind not in figures.get(t, {}):
                            die(f"{prog['name']} reported no {kind} at {t} threads for {model}")
                measured[prog["name"]] = {"tok_per_s": figures, "peak_rss_mib": rss}
            entry["models"][model] = measured
        rounds.append(entry)

    summary = [summarize(model, rounds, names, args.threads.split(","), kinds) for model in models]
    info = {OURS: {"binary": ours["binary"], "version": ours["version"], "isa": ours["isa"]}}
    for peer in peers:
        info[peer["name"]] = {"binary": peer["binary"], "flags": peer["flags"], "reported": peer.get("reported")}
    json.dump({"machine": {"cpu": cpu_name(), "cores": os.cpu_count()}, "programs": info,
               "settings": {"p": args.p, "n": args.n, "reps": args.reps, "threads": args.threads},
               "rounds": rounds, "summary": summary}, sys.stdout, indent=1)
    print()
    print_table(summary, names, args.threads.split(","), kinds, ours["isa"].get("ran", ours["isa"]["requested"]))


def summarize(model, rounds, names, threads, kinds):
    size = os.path.getsize(model)
    row = {"model": model, "file_bytes": size, "threads": {}}
    for t in threads:
        cell = {}
        for kind in kinds:
            ts = {name: [e["models"][model][name]["tok_per_s"][t][kind] for e in rounds] for name in names}
            ratios = {peer: [a / b for a, b in zip(ts[OURS], ts[peer])] for peer in names[1:]}
            c = {"tok_per_s": {name: statistics.median(v) for name, v in ts.items()},
                 "ratio": {peer: statistics.median(v) for peer, v in ratios.items()}, "ratios": ratios}
            c["faster_peer"] = min(c["ratio"], key=c["ratio"].get)
            c["ratio_vs_faster"] = c["ratio"][c["faster_peer"]]
            if kind.startswith("tg"):
                measured = [e for e in rounds if e["bandwidth"] and t in e["bandwidth"]]
                if measured:
                    c["roofline_share"] = {
                        name: statistics.median(e["models"][model][name]["tok_per_s"][t][kind] * size / 1e9
                                                / e["bandwidth"][t]["triad"] for e in measured) for name in names}
            cell[kind] = c
        row["threads"][t] = cell
    row["peak_rss_mib"] = {name: max(e["models"][model][name]["peak_rss_mib"] for e in rounds) for name in names}
    return row


def cpu_name():
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


def print_table(summary, names, threads, kinds, isa):
    peers = names[1:]
    out = lambda s: print(s, file=sys.stderr)
    out(f"tok/s (medians over rounds), ours (ISA {isa}) / peer (medians of the rounds' ratios), "
        "and ours / the faster peer on the row")
    width = lambda head: max(11, len(head) + 2)
    out("model".ljust(16) + "t".rjust(3) + "test".rjust(7) + "".join(n.rjust(width(n)) for n in names)
        + "".join(("/" + n).rjust(width("/" + n)) for n in peers) + "  vs faster")
    for row in summary:
        model = os.path.basename(row["model"]).removesuffix(".gguf")[:15]
        for t in threads:
            for kind in kinds:
                c = row["threads"][t][kind]
                out(model.ljust(16) + t.rjust(3) + kind.rjust(7)
                    + "".join(f"{c['tok_per_s'][n]:{width(n)}.1f}" for n in names)
                    + "".join(f"{c['ratio'][p]:{width('/' + p) - 1}.2f}x" for p in peers)
                    + f"  {c['ratio_vs_faster']:.2f}x ({c['faster_peer']})")
        notes = []
        share = row["threads"][threads[-1]][kinds[-1]].get("roofline_share")
        if share:
            notes.append(f"{kinds[-1]} share of the triad at {threads[-1]} threads: "
                         + ", ".join(f"{n} {100 * s:.1f}%" for n, s in share.items()))
        notes.append("peak RSS MiB " + ", ".join(f"{n} {v:.1f}" for n, v in row["peak_rss_mib"].items())
                     + f"; file {row['file_bytes'] / 2**20:.1f}")
        for note in notes:
            out(" " * 16 + note)


if __name__ == "__main__":
    main()
