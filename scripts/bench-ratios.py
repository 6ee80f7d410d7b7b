#!/usr/bin/env python3
"""Sets a scripts/bench.sh result against llama.cpp's figures in ../shared/golden/perf.md.

usage: scripts/bench-ratios.py BENCH.json [--perf ../shared/golden/perf.md]

Per model and thread count: our tok/s and the ratio to llama.cpp's (the issue's targets:
generation >= 1.25x, prompt processing >= 1.0x), generation at 2 threads as a share of perf.md's
roofline for the 1B shape (target >= 70% for Q8_0 and Q4_0), and the same figures with the
machine's drift taken out. perf.md was measured where STREAM's triad gave 40.7 / 79.2 GB/s on
1 / 2 threads; bench.sh measures the triad just before and after each model, and generation
streams weights, so its ratio scaled by perf.md's triad over ours says how the two programs
compare on equal memory. That holds where generation streams at memory's pace (the 1B shape,
and the 110M shape on one thread); where a fixed cost per token dominates (110M on two threads)
the scaled ratio overstates. Prompt processing is bound by arithmetic and is not scaled.
Where the result says how many weight bytes a generated token reads, the last column gives the
read bandwidth generation at 1.25x llama.cpp's tok/s needs, beside the plain read bandwidth
measured around the model: a target above what the machine reads at the time cannot be met then.
Needs only Python 3's standard library.
"""
import argparse
import json
import re
import statistics
import sys


def parse_perf(path):
    text = open(path, encoding="utf-8").read()
    m = re.search(r"about ([\d.]+) GB/s on 1 thread, ([\d.]+) GB/s on 2", text)
    if not m:
        sys.exit(f"{path}: no 'about X GB/s on 1 thread, Y GB/s on 2' line")
    triad = {1: float(m.group(1)), 2: float(m.group(2))}
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 9 or not re.match(r"^\d+[MB]-", cells[0]):
            continue
        figure = lambda c: float(c.split("±")[0].replace(",", ""))
        bound = [float(b) for b in cells[7].split("/")]
        rows[cells[0]] = {
            "pp": {1: figure(cells[2]), 2: figure(cells[4])},
            "tg": {1: figure(cells[3]), 2: figure(cells[5])},
            "bound": {1: bound[0], 2: bound[1]},
        }
    if not rows:
        sys.exit(f"{path}: no table rows like '| 110M-F32 | bytes | pp | tg | ... |'")
    return triad, rows


def perf_name(model_path):
    name = model_path.rsplit("/", 1)[-1].removesuffix(".gguf")
    return name + "_M" if name.endswith("-Q4_K") else name  # our Q4_K is set against Q4_K_M


def bandwidth_now(result, threads, figure="triad_gb_per_s"):
    figures = [f[figure] for key in ("bandwidth_before", "bandwidth_after")
               for f in (result.get(key) or []) if f["threads"] == threads and figure in f]
    return statistics.mean(figures) if figures else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("bench_json")
    parser.add_argument("--perf", default="../shared/golden/perf.md")
    args = parser.parse_args()
    perf_triad, perf = parse_perf(args.perf)
    bench = json.load(open(args.bench_json, encoding="utf-8"))

    print("model         thr   pp tok/s (ratio)    tg tok/s (ratio)   triad GB/s  tg ratio scaled to perf.md's triad"
          "   weight bytes/s tg needs at 1.25x, read GB/s now")
    misses = []
    for result in bench["results"]:
        name = perf_name(result["model"])
        ref = perf.get(name)
        for run in result["runs"]:
            t = run["threads"]
            pp, tg = run["pp_tok_per_s"], run["tg_tok_per_s"]
            # Older bench.sh files carry the triad only for the whole run.
            now = bandwidth_now(result, t) or bandwidth_now(bench, t)
            read_now = bandwidth_now(result, t, "read_gb_per_s") or bandwidth_now(bench, t, "read_gb_per_s")
            line = f"{name:<13} {t:>3}  {pp:8.1f}"
            if ref is None:
                print(line + f"{'':12}{tg:8.1f}")
                continue
            pp_ratio, tg_ratio = pp / ref["pp"][t], tg / ref["tg"][t]
            line += f" ({pp_ratio:4.2f}x)    {tg:8.1f} ({tg_ratio:4.2f}x)"
            if now:
                line += f"   {now:6.1f}      {tg_ratio * perf_triad[t] / now:4.2f}x"
            if name.startswith("1B-") and t == 2 and name.split("-")[1] in ("Q8_0", "Q4_0"):
                share = tg / ref["bound"][2]
                line += f"   roofline {100 * share:.1f}% of perf.md's"
                if now:
                    line += f", {100 * tg * result['file_bytes'] / (now * 1e9):.1f}% of the triad now"
                if share < 0.70:
                    misses.append(f"{name} t={t} roofline {100 * share:.1f}%")
            if result.get("weight_bytes_per_token") and read_now:
                needed = 1.25 * ref["tg"][t] * result["weight_bytes_per_token"] / 1e9
                line += f"   1.25x needs {needed:5.1f} GB/s, read {read_now:5.1f}"
            print(line)
            if pp_ratio < 1.0:
                misses.append(f"{name} t={t} pp {pp_ratio:.2f}x")
            if tg_ratio < 1.25:
                misses.append(f"{name} t={t} tg {tg_ratio:.2f}x")
    print("targets missed (unscaled figures): " + ("; ".join(misses) if misses else "none"))


if __name__ == "__main__":
    main()
