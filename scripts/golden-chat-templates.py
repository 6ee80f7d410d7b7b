#!/usr/bin/env python3
"""Goldens for lib/chat: what llama.cpp's llama-server renders for chat conversations.

For every template in ../shared/templates (and the two carried by GGUF vocab files in
../shared/models/tokenizers, and two sister templates from llama.cpp's models/templates) this starts `llama-server --jinja --chat-template-file T` on
127.0.0.1 and a free port, POSTs each conversation below to its /apply-template endpoint and
writes one JSON line per conversation to tests/chat/golden/<template>.jsonl. For llama.cpp's
built-in formats it starts `llama-server --no-jinja --chat-template NAME` instead and writes
tests/chat/golden/builtin-formats.jsonl. See tests/chat/golden/README.md for what the lines hold.

The model only supplies a vocabulary (any small GGUF works; stories260K by default). Two settings
make llama.cpp render exactly what the real model's GGUF would:
  - chat_template_kwargs sets bos_token / eos_token to the real model's BOS/EOS text (llama.cpp
    merges these kwargs over the values it takes from the vocab);
  - --override-kv tokenizer.ggml.add_bos_token=bool:false stops llama.cpp from cutting a leading
    BOS off the rendered prompt (it does that when the vocab adds BOS at tokenization), so the
    prompt is the template's own output.
--no-prefill-assistant keeps a conversation that ends with an assistant message a plain render
(llama-server would otherwise continue that message instead).

Usage: python3 scripts/golden-chat-templates.py [--llama-dir DIR] [--model GGUF] [--out DIR]
"""
import argparse
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SHARED = os.path.abspath(os.path.join(ROOT, "..", "shared"))

# The real models' BOS/EOS text. Only Llama 3.x, Gemma, Mistral, DeepSeek R1 and Phi-3 print
# BOS, and only Phi-3.5 and Mistral print EOS; the others are recorded for completeness.
TEMPLATES = [
    # (file, where, bos, eos)
    ("Qwen-Qwen2.5-7B-Instruct.jinja", "templates", "<|endoftext|>", "<|im_end|>"),
    ("Qwen-Qwen3-0.6B.jinja", "templates", "<|endoftext|>", "<|im_end|>"),
    ("HuggingFaceTB-SmolLM3-3B.jinja", "templates", "<|begin_of_text|>", "<|im_end|>"),
    ("deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja", "templates", "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
    ("meta-llama-Llama-3.1-8B-Instruct.jinja", "templates", "<|begin_of_text|>", "<|eot_id|>"),
    ("meta-llama-Llama-3.2-3B-Instruct.jinja", "templates", "<|begin_of_text|>", "<|eot_id|>"),
    ("google-gemma-2-2b-it.jinja", "templates", "<bos>", "<eos>"),
    ("microsoft-Phi-3.5-mini-instruct.jinja", "templates", "<s>", "<|endoftext|>"),
    ("mistralai-Mistral-Nemo-Instruct-2407.jinja", "templates", "<s>", "</s>"),
    # GGUF vocab files: BOS/EOS are the vocab's own.
    ("ggml-vocab-qwen2.gguf", "models/tokenizers", "<|endoftext|>", "<|endoftext|>"),
    ("ggml-vocab-phi-3.gguf", "models/tokenizers", "<s>", "<|endoftext|>"),
    # Sister templates from llama.cpp's models/templates that must be recognised as the same
    # families; copied into tests/chat/golden/templates so the test does not need llama.cpp.
    ("meta-llama-Llama-3.3-70B-Instruct.jinja", "llama.cpp", "<|begin_of_text|>", "<|eot_id|>"),
    ("deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja", "llama.cpp", "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
]

# llama.cpp's names for the built-in (non-Jinja) formats that lib/chat renders.
BUILTIN_FORMATS = [
    "chatml", "llama2", "llama2-sys", "llama2-sys-bos", "llama2-sys-strip", "mistral-v1", "mistral-v3",
    "mistral-v3-tekken", "mistral-v7", "mistral-v7-tekken", "phi3", "phi4", "falcon3", "zephyr", "gemma",
    "vicuna", "vicuna-orca", "deepseek", "deepseek3", "llama3", "smolvlm",
]


def msg(role, content):
    return {"role": role, "content": content}


SYSTEM = msg("system", "You are a helpful assistant.")
TURKISH = [
    msg("system", "Sen yardımsever bir asistansın.\nKısa ve net cevap ver."),
    msg("user", "Merhaba, nasılsın?\n\nBugün hava çok güzel — değil mi? İstanbul'da güneş var. 🌞"),
    msg("assistant", "İyiyim, teşekkürler!\nEvet, hava harika. Şişli'de de öyle."),
    msg("user", "  Çok güzel. Peki ya yarın?\n  "),
]
THOUGHT = "<think>\nThe user asks 2+2.\nThat is 4.\n</think>\n\nIt is 4."

# (case, messages, add_generation_prompt)
CONVERSATIONS = [
    ("single_user", [msg("user", "Hello!")], True),
    ("system_user", [SYSTEM, msg("user", "What is the capital of Turkey?")], True),
    ("multi_turn", [SYSTEM, msg("user", "What is the capital of Turkey?"), msg("assistant", "Ankara."),
                    msg("user", "And its largest city?")], True),
    ("no_system_multi_turn", [msg("user", "Hi there"), msg("assistant", "Hello! How can I help?"),
                              msg("user", "Tell me a joke.")], True),
    ("system_user_no_generation_prompt", [SYSTEM, msg("user", "What is the capital of Turkey?")], False),
    ("ends_with_assistant_no_generation_prompt", [SYSTEM, msg("user", "What is the capital of Turkey?"),
                                                  msg("assistant", "Ankara.")], False),
    ("turkish_unicode_newlines", TURKISH, True),
    ("turkish_unicode_newlines_no_generation_prompt", TURKISH[:3], False),
    ("thinking_in_history", [msg("user", "What is 2+2?"), msg("assistant", THOUGHT),
                             msg("user", "And 3+3?")], True),
    ("thinking_last_no_generation_prompt", [msg("user", "What is 2+2?"), msg("assistant", THOUGHT)], False),
    ("empty_system", [msg("system", ""), msg("user", "Hi")], True),
    ("system_only", [SYSTEM], True),
    ("no_think_system", [msg("system", "Be brief. /no_think"), msg("user", "Hi"), msg("assistant", "Hello."),
                         msg("user", "Bye")], True),
    ("system_in_middle", [msg("user", "Hi"), msg("assistant", "Hello."), msg("system", "Answer in Turkish."),
                          msg("user", "How are you?")], True),
    ("roles_out_of_order", [msg("user", "Hi"), msg("user", "Are you there?")], True),
]


def gguf_chat_template(path):
    """tokenizer.chat_template from a GGUF file's metadata (no numpy needed)."""
    scalar = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}

    with open(path, "rb") as f:
        def read(fmt):
            return struct.unpack("<" + fmt, f.read(struct.calcsize(fmt)))[0]

        def read_string():
            return f.read(read("Q")).decode("utf-8")

        def read_value(kind):
            if kind == 8:
                return read_string()
            if kind == 9:
                item, count = read("I"), read("Q")
                return [read_value(item) for _ in range(count)]
            return read(scalar[kind])

        if f.read(4) != b"GGUF":
            raise SystemExit(f"{path}: not a GGUF file")
        read("I")
        read("Q")
        for _ in range(read("Q")):
            key = read_string()
            value = read_value(read("I"))
            if key == "tokenizer.chat_template":
                return value
    raise SystemExit(f"{path}: no tokenizer.chat_template")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(port, path, body):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


class Server:
    def __init__(self, server_bin, model, template_args):
        self.port = free_port()
        self.command = [server_bin, "-m", model, "--host", "127.0.0.1", "--port", str(self.port), "-c", "256",
                        "-np", "1", "--override-kv", "tokenizer.ggml.add_bos_token=bool:false",
                        "--no-prefill-assistant"] + template_args
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(self.command, stdout=self.log, stderr=subprocess.STDOUT)

    def __enter__(self):
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.process.poll() is not None:
                self.log.seek(0)
                raise SystemExit("llama-server exited:\n" + self.log.read().decode(errors="replace")[-4000:])
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2) as r:
                    if r.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.2)
        raise SystemExit("llama-server did not become healthy in 60 s")

    def __exit__(self, *exc):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def render_all(server, extra_body):
    """One golden line per conversation: the prompt, or the error llama.cpp answered with."""
    lines = []
    for case, messages, add_generation_prompt in CONVERSATIONS:
        body = dict(messages=messages, add_generation_prompt=add_generation_prompt, **extra_body)
        date_before = time.strftime("%d %b %Y")
        status, answer = post(server.port, "/apply-template", body)
        date_after = time.strftime("%d %b %Y")
        if date_before != date_after:
            raise SystemExit("the date changed while rendering; run again")
        line = {"case": case, "messages": messages, "add_generation_prompt": add_generation_prompt,
                "date_string": date_before}
        if status == 200:
            line["prompt"] = answer["prompt"]
        else:
            line["error"] = answer.get("error", {}).get("message", f"HTTP {status}")
        lines.append(line)
    return lines


def write_jsonl(path, lines):
    with open(path, "w", encoding="utf-8") as f:
        for line in lines:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llama-dir", default="/work/llama/llama.cpp")
    parser.add_argument("--model", default=os.path.join(SHARED, "models/stories260K/stories260K.gguf"))
    parser.add_argument("--out", default=os.path.join(ROOT, "tests/chat/golden"))
    args = parser.parse_args()
    server_bin = os.path.join(args.llama_dir, "build/bin/llama-server")
    if not os.path.exists(server_bin):
        raise SystemExit(f"{server_bin} missing; build it with: cmake -S {args.llama_dir} -B {args.llama_dir}/build "
                         f"-DLLAMA_BUILD_SERVER=ON -DLLAMA_CURL=OFF && cmake --build {args.llama_dir}/build "
                         f"--target llama-server")
    os.makedirs(args.out, exist_ok=True)

    with tempfile.TemporaryDirectory() as tmp:
        for file, where, bos, eos in TEMPLATES:
            path = os.path.join(SHARED, where, file)
            template = f"{where}/{file}"  # relative to ../shared
            if where == "llama.cpp":
                os.makedirs(os.path.join(args.out, "templates"), exist_ok=True)
                shutil.copyfile(os.path.join(args.llama_dir, "models/templates", file),
                                os.path.join(args.out, "templates", file))
                path = os.path.join(args.out, "templates", file)
                template = f"tests/chat/golden/templates/{file}"  # relative to the repository
            elif file.endswith(".gguf"):
                extracted = os.path.join(tmp, file + ".jinja")
                with open(extracted, "w", encoding="utf-8") as f:
                    f.write(gguf_chat_template(path))
                path = extracted
            with Server(server_bin, args.model, ["--jinja", "--chat-template-file", path]) as server:
                lines = render_all(server, {"chat_template_kwargs": {"bos_token": bos, "eos_token": eos}})
            for line in lines:
                line.update(template=template, bos=bos, eos=eos)
            write_jsonl(os.path.join(args.out, os.path.splitext(file)[0] + ".jsonl"), lines)
            print(f"{file}: {sum('prompt' in l for l in lines)} prompts, {sum('error' in l for l in lines)} errors")

    builtin_lines = []
    for name in BUILTIN_FORMATS:
        with Server(server_bin, args.model, ["--no-jinja", "--chat-template", name]) as server:
            lines = render_all(server, {})
        for line in lines:
            line.update(chat_template=name, bos="<s>", eos="</s>")
        builtin_lines += lines
    write_jsonl(os.path.join(args.out, "builtin-formats.jsonl"), builtin_lines)
    print(f"builtin formats: {len(builtin_lines)} lines")


if __name__ == "__main__":
    sys.exit(main())
