#!/usr/bin/env python3
"""Records llama.cpp's figures for tinystories-5M carried into each model family.

For each family: `dilmodeli synth --arch FAMILY --from tinystories-5M-F32.gguf` writes the F32
file, `dilmodeli quantize --type T` the Q8_0 / Q4_K / Q4_0 files (both deterministic, so the tests
rebuild the same bytes), then llama.cpp's own tools measure them:
  llama-perplexity -m FILE -f heldout.txt -c 256 -b 256 -t 2 --chunks 10
  llama-simple -m FILE -n 48 PROMPT          (greedy; BOS added; the echoed prompt is removed)
One JSON object a line goes to tests/model/golden/families.jsonl.

usage: scripts/golden-families.py --llama-bin DIR [--dilmodeli PATH] [--commit HASH]
"""
import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile

FAMILIES = ["llama", "qwen2", "qwen3", "gemma2", "gemma3", "phi3"]
TYPES = ["F32", "Q8_0", "Q4_K", "Q4_0"]
PROMPTS = ["Once upon a time", "Lily and Tom went to the park", "The little dog was sad because",
           "One day, a big red ball", "Mom said"]
CHUNKS = 10


def run(cmd):
    with tempfile.TemporaryFile("w+") as out:
        subprocess.run(cmd, check=True, stdout=out, stderr=subprocess.STDOUT, text=True)
        out.seek(0)
        return out.read()


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--llama-bin", required=True, help="folder with llama-perplexity and llama-simple")
    ap.add_argument("--dilmodeli", default=os.path.join(root, "build/apps/dilmodeli/dilmodeli"))
    ap.add_argument("--commit", default="de3ff81", help="llama.cpp commit the tools were built from")
    args = ap.parse_args()
    shared = os.path.join(root, "..", "shared")
    source = os.path.join(shared, "models/tinystories-5M/tinystories-5M-F32.gguf")
    text = os.path.join(shared, "data/tinystories/heldout.txt")
    out_path = os.path.join(root, "tests/model/golden/families.jsonl")
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        for family in FAMILIES:
            f32 = os.path.join(tmp, f"{family}-F32.gguf")
            run([args.dilmodeli, "-q", "synth", f32, "--arch", family, "--from", source])
            for type_name in TYPES:
                path = f32 if type_name == "F32" else os.path.join(tmp, f"{family}-{type_name}.gguf")
                if type_name != "F32":
                    run([args.dilmodeli, "-q", "quantize", f32, path, "--type", type_name])
                # llama.cpp's log thread sometimes loses the last lines at exit: try again.
                for _ in range(20):
                    ppl_log = run([os.path.join(args.llama_bin, "llama-perplexity"), "-m", path, "-f", text, "-c",
                                   "256", "-b", "256", "-t", "2", "--chunks", str(CHUNKS)])
                    m = re.search(r"Final estimate: PPL = ([0-9.]+)", ppl_log)
                    if m:
                        break
                if not m:
                    sys.exit(f"no perplexity for {path}")
                greedy = []
                for prompt in PROMPTS:
                    simple = [os.path.join(args.llama_bin, "llama-simple"), "-m", path, "-n", "48", prompt]
                    out = subprocess.run(simple, check=True, capture_output=True, text=True).stdout
                    echo = "<s> " + prompt
                    if not out.startswith(echo):
                        sys.exit(f"llama-simple output does not start with the prompt: {out[:80]!r}")
                    greedy.append({"prompt": prompt, "continuation": out[len(echo):].rstrip("\n")})
                with open(path, "rb") as fh:
                    digest = hashlib.sha256(fh.read()).hexdigest()
                record = {"family": family, "type": type_name, "chunks": CHUNKS, "perplexity": float(m.group(1)),
                          "greedy": greedy, "sha256": digest, "llama_cpp": args.commit}
                lines.append(json.dumps(record, ensure_ascii=False))
                print(family, type_name, m.group(1), file=sys.stderr)
    with open(out_path, "w") as fh:
        fh.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
