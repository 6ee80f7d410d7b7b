#!/usr/bin/env python3
"""Goldens for `dilmodeli embed`: what llama.cpp's llama-embedding computes for a few texts.

For each model and pooling below this runs

    llama-embedding -m MODEL -p TEXTS --pooling POOLING --embd-normalize -1 \
                    --embd-output-format array

(TEXTS: the texts joined by newlines, which llama-embedding splits into one prompt each) and
writes tests/runtime/golden/embeddings/<model>.<pooling>.json: the texts, the token ids of each
(--verbose-prompt prints them), and the vectors it printed. --embd-normalize -1 keeps the vectors as pooled (llama-embedding
would otherwise divide each by its Euclidean norm), so a test can check their length as well as
their direction. See tests/runtime/golden/embeddings/README.md.

Usage: python3 scripts/golden-embeddings.py [--llama-dir DIR] [--models DIR] [--out DIR]
"""
import argparse
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SHARED = os.path.abspath(os.path.join(ROOT, "..", "shared"))

TEXTS = [
    "Once upon a time",
    "Tom and Lily went to the park. They played on the swings and laughed all day.",
    "The cat sat on the mat.",
    # parse_special: llama-embedding tokenizes with special tokens parsed, so </s> is one id.
    "Hello</s> world",
]

# (model file under models/tinystories-5M, pooling, texts): pooling none gives a vector per
# token, so it gets two of the texts only.
RUNS = [
    ("tinystories-5M-F32.gguf", "mean", TEXTS),
    ("tinystories-5M-F32.gguf", "last", TEXTS),
    ("tinystories-5M-F32.gguf", "cls", TEXTS),
    ("tinystories-5M-F32.gguf", "none", [TEXTS[0], TEXTS[3]]),
    ("tinystories-5M-Q8_0.gguf", "mean", TEXTS),
    ("tinystories-5M-Q8_0.gguf", "last", TEXTS),
]


def llama_commit(llama_dir):
    try:
        return subprocess.run(["git", "-C", llama_dir, "rev-parse", "HEAD"], check=True,
                              capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def run_embedding(binary, model, pooling, texts):
    cmd = [binary, "-m", model, "-p", "\n".join(texts), "--pooling", pooling,
           "--embd-normalize", "-1", "--embd-output-format", "array", "--verbose-prompt"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}")
    # --verbose-prompt logs "number of tokens in prompt = N" once per text (stderr) and prints
    # each token as "   ID -> 'PIECE'" (stdout) before the array, which is the last line.
    counts = [int(n) for n in re.findall(r"number of tokens in prompt = (\d+)", done.stderr)]
    ids = [int(m) for m in re.findall(r"^ *(\d+) -> '", done.stdout, re.M)]
    vectors = json.loads(done.stdout.strip().splitlines()[-1])
    tokens, at = [], 0
    for n in counts:
        tokens.append(ids[at:at + n])
        at += n
    if at != len(ids):
        sys.exit(f"{' '.join(cmd)}: {len(ids)} token lines for counts {counts}")
    return cmd, vectors, tokens


def compact_json(golden):
    """Indented JSON with each token list and each vector on one line."""
    def rows(values):
        return "[\n" + ",\n".join("  " + json.dumps(v, separators=(",", ":")) for v in values) + "\n ]"
    fields = []
    for key, value in golden.items():
        text = rows(value) if key in ("tokens", "embeddings") else json.dumps(value, indent=1).replace("\n", "\n ")
        fields.append(f" {json.dumps(key)}: {text}")
    return "{\n" + ",\n".join(fields) + "\n}\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--llama-dir", default="/work/llama/llama.cpp")
    parser.add_argument("--models", default=os.path.join(SHARED, "models", "tinystories-5M"))
    parser.add_argument("--out", default=os.path.join(ROOT, "tests", "runtime", "golden", "embeddings"))
    args = parser.parse_args()

    binary = os.path.join(args.llama_dir, "build", "bin", "llama-embedding")
    if not os.path.exists(binary):
        sys.exit(f"{binary} not found: cmake --build {args.llama_dir}/build --target llama-embedding")
    commit = llama_commit(args.llama_dir)
    os.makedirs(args.out, exist_ok=True)
    for model_name, pooling, texts in RUNS:
        model = os.path.join(args.models, model_name)
        cmd, vectors, tokens = run_embedding(binary, model, pooling, texts)
        counts = [len(t) for t in tokens]
        expected = sum(counts) if pooling == "none" else len(texts)
        if len(counts) != len(texts) or len(vectors) != expected:
            sys.exit(f"{model_name} {pooling}: {len(vectors)} vectors for {counts} tokens")
        stem = model_name[: -len(".gguf")]
        golden = {
            "llama_cpp_commit": commit,
            "model": "models/tinystories-5M/" + model_name,
            "pooling": pooling,
            "normalize": -1,
            # TEXTS: the texts below joined by newlines.
            "command": " ".join(["llama-embedding", "-m", model_name, "-p", '"$TEXTS"'] + cmd[5:]),
            "texts": texts,
            "tokens": tokens,
            "n_embd": len(vectors[0]),
            "embeddings": vectors,
        }
        path = os.path.join(args.out, f"{stem}.{pooling}.json")
        with open(path, "w") as f:
            f.write(compact_json(golden))
        print(f"{path}: {len(vectors)} vectors of {len(vectors[0])}")


if __name__ == "__main__":
    main()
