#!/usr/bin/env python3
"""Writes llama_tokenize_<vocab>.jsonl: the ids llama.cpp's llama-tokenize gives for the strings
of ../shared/golden/stories260K/tokenize.jsonl (Turkish ones among them) and for chat markup
with special tokens, through each vocabulary of ../shared/models/tokenizers. See README.md.

usage: make_goldens.py LLAMA_TOKENIZE SHARED_DIR OUT_DIR
"""
import json, os, subprocess, sys, tempfile

VOCABS = ["llama-bpe", "qwen2", "phi-3", "gemma-4", "gpt-2", "llama-spm"]
# Markup whose special tokens llama.cpp matches as single ids when parse_special is on
# (control tokens) or always (user-defined ones, e.g. Gemma 4's <|tool_call>).
SPECIAL = {
    "qwen2": ["<|im_start|>user\nMerhaba, nasılsın?<|im_end|>\n<|im_start|>assistant\n"],
    "gemma-4": ["<|turn>user\nİstanbul'da ağaçlar<turn|>\n<|turn>model\n",
                "<|tool_call>call:hava{şehir:<|\"|>İzmir<|\"|>}<tool_call|>"],
    "phi-3": ["<|user|>\nÇığ düştü.<|end|>\n<|assistant|>\n", "a </s> b"],
    "llama-bpe": ["<|start_header_id|>user<|end_header_id|>\n\nMerhaba<|eot_id|>"],
    "llama-spm": ["<s>Merhaba</s>"],
    "gpt-2": ["<|endoftext|>Merhaba"],
}


def tokenize(tool, vocab_path, text, parse_special):
    with tempfile.NamedTemporaryFile("wb", delete=False) as f:
        f.write(text.encode("utf-8"))
        path = f.name
    try:
        cmd = [tool, "-m", vocab_path, "-f", path, "--ids", "--no-escape", "--log-disable"]
        if not parse_special:
            cmd.append("--no-parse-special")
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    finally:
        os.unlink(path)
    return json.loads(out.strip().splitlines()[-1])


def main():
    tool, shared, out_dir = sys.argv[1:4]
    with open(os.path.join(shared, "golden/stories260K/tokenize.jsonl"), encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f if line.strip()]
    for vocab in VOCABS:
        vocab_path = os.path.join(shared, "models/tokenizers/ggml-vocab-%s.gguf" % vocab)
        rows = [(t, False) for t in texts] + [(t, True) for t in SPECIAL.get(vocab, [])]
        with open(os.path.join(out_dir, "llama_tokenize_%s.jsonl" % vocab), "w", encoding="utf-8") as out:
            for text, parse_special in rows:
                ids = tokenize(tool, vocab_path, text, parse_special)
                out.write(json.dumps({"text": text, "parse_special": parse_special, "ids": ids},
                                     ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
