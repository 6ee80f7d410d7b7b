#include "producers/llama2c_import.h"

#include <cctype>
#include <cstring>
#include <vector>

#include "common/error.h"
#include "common/mapped_file.h"
#include "gguf/gguf_writer.h"
#include "model/tensor_names.h"

namespace dilmodeli::producers {

namespace {

using gguf::KeyValue;
using gguf::Value;
using gguf::ValueType;

constexpr uint32_t kVersion1Magic = 0x616b3432;  // "ak42"
constexpr size_t kVersion1HeaderBytes = 256;

struct Config {
    int32_t dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len;
};

// Offsets (in floats, from the start of the weights) of every tensor of the checkpoint.
struct WeightLayout {
    size_t tok_embeddings, rms_att, wq, wk, wv, wo, rms_ffn, w1, w2, w3, rms_final, wcls;
    size_t total_floats;
};

WeightLayout layout_version0(const Config& c, bool shared) {
    const size_t dim = c.dim, hidden = c.hidden_dim, layers = c.n_layers, vocab = c.vocab_size;
    const size_t kv_dim = dim / c.n_heads * c.n_kv_heads, head = dim / c.n_heads;
    WeightLayout w{};
    size_t p = 0;
    w.tok_embeddings = p; p += vocab * dim;
    w.rms_att = p;        p += layers * dim;
    w.wq = p;             p += layers * dim * dim;
    w.wk = p;             p += layers * kv_dim * dim;
    w.wv = p;             p += layers * kv_dim * dim;
    w.wo = p;             p += layers * dim * dim;
    w.rms_ffn = p;        p += layers * dim;
    w.w1 = p;             p += layers * hidden * dim;
    w.w2 = p;             p += layers * dim * hidden;
    w.w3 = p;             p += layers * hidden * dim;
    w.rms_final = p;      p += dim;
    p += size_t(c.seq_len) * head;  // freq_cis_real and freq_cis_imag, recomputed by us
    w.wcls = shared ? w.tok_embeddings : p;
    if (!shared) p += vocab * dim;
    w.total_floats = p;
    return w;
}

WeightLayout layout_version1(const Config& c, bool shared) {
    const size_t dim = c.dim, hidden = c.hidden_dim, layers = c.n_layers, vocab = c.vocab_size;
    const size_t kv_dim = dim / c.n_heads * c.n_kv_heads;
    WeightLayout w{};
    size_t p = 0;
    w.rms_att = p;        p += layers * dim;
    w.rms_ffn = p;        p += layers * dim;
    w.rms_final = p;      p += dim;
    w.tok_embeddings = p; p += vocab * dim;
    w.wq = p;             p += layers * dim * dim;
    w.wk = p;             p += layers * kv_dim * dim;
    w.wv = p;             p += layers * kv_dim * dim;
    w.wo = p;             p += layers * dim * dim;
    w.w1 = p;             p += layers * hidden * dim;
    w.w2 = p;             p += layers * dim * hidden;
    w.w3 = p;             p += layers * hidden * dim;
    w.wcls = shared ? w.tok_embeddings : p;
    if (!shared) p += vocab * dim;
    w.total_floats = p;
    return w;
}

void check_config(const std::string& path, const Config& c) {
    auto bad = [&](const char* field, int64_t v) {
        throw input_error(path, std::string("llama2.c header field ") + field + " = " +
                                    std::to_string(v) + " is not valid");
    };
    if (c.dim <= 0 || c.dim > (1 << 16)) bad("dim", c.dim);
    if (c.hidden_dim <= 0 || c.hidden_dim > (1 << 18)) bad("hidden_dim", c.hidden_dim);
    if (c.n_layers <= 0 || c.n_layers > 1024) bad("n_layers", c.n_layers);
    if (c.n_heads <= 0 || c.dim % c.n_heads != 0) bad("n_heads", c.n_heads);
    if (c.n_kv_heads <= 0 || c.n_heads % c.n_kv_heads != 0) bad("n_kv_heads", c.n_kv_heads);
    if (c.vocab_size <= 0 || c.vocab_size > (1 << 22)) bad("vocab_size", c.vocab_size);
    if (c.seq_len <= 0 || c.seq_len > (1 << 22)) bad("seq_len", c.seq_len);
}

struct Vocabulary {
    std::vector<std::string> tokens;
    std::vector<float> scores;
    std::vector<int32_t> types;
};

enum TokenType : int32_t { kNormal = 1, kUnknown = 2, kControl = 3, kByte = 6 };

bool is_byte_token(const std::string& s) {
    return s.size() == 6 && s.compare(0, 3, "<0x") == 0 && s[5] == '>' && std::isxdigit(s[3]) &&
           std::isxdigit(s[4]);
}

// llama2.c's tokenizer.bin: u32 max_token_length, then per token f32 score, u32 length, bytes.
// It writes SentencePiece's "▁" as a plain space and wraps BOS/EOS in newlines; GGUF wants the
// SentencePiece forms back.
Vocabulary read_tokenizer(const std::string& path, int32_t vocab_size) {
    MappedFile file(path);
    const uint8_t* p = file.data();
    const uint8_t* end = p + file.size();
    auto need = [&](size_t n, const std::string& what) {
        if (size_t(end - p) < n)
            throw input_error(path, "truncated tokenizer: " + what + " at offset " +
                                        std::to_string(p - file.data()));
    };
    need(4, "max_token_length");
    p += 4;
    Vocabulary v;
    for (int32_t i = 0; i < vocab_size; ++i) {
        float score;
        uint32_t length;
        need(8, "token " + std::to_string(i));
        std::memcpy(&score, p, 4);
        std::memcpy(&length, p + 4, 4);
        p += 8;
        need(length, "token " + std::to_string(i) + " text of " + std::to_string(length) + " bytes");
        std::string text(reinterpret_cast<const char*>(p), length);
        p += length;
        int32_t type = kNormal;
        if (i == 0) {
            text = "<unk>";
            type = kUnknown;
        } else if (text == "\n<s>\n" || text == "<s>") {
            text = "<s>";
            type = kControl;
        } else if (text == "\n</s>\n" || text == "</s>") {
            text = "</s>";
            type = kControl;
        } else if (is_byte_token(text)) {
            type = kByte;
        } else {
            std::string escaped;
            for (char c : text) escaped += (c == ' ') ? std::string("\xE2\x96\x81") : std::string(1, c);
            text = std::move(escaped);
        }
        v.tokens.push_back(std::move(text));
        v.scores.push_back(score);
        v.types.push_back(type);
    }
    if (p != end)
        throw input_error(path, "tokenizer has " + std::to_string(end - p) +
                                    " bytes after token " + std::to_string(vocab_size - 1) +
                                    " (does its vocabulary match the checkpoint's " +
                                    std::to_string(vocab_size) + " tokens?)");
    return v;
}

template <typename T>
Value array_of(ValueType type, const std::vector<T>& items) {
    std::vector<Value> elements;
    elements.reserve(items.size());
    for (const T& x : items) elements.emplace_back(x);
    return Value::array(type, std::move(elements));
}

std::string file_stem(const std::string& path) {
    auto slash = path.find_last_of('/');
    std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
    auto dot = name.find_last_of('.');
    return dot == std::string::npos ? name : name.substr(0, dot);
}

}  // namespace

Llama2cImportResult import_llama2c(const Llama2cImportOptions& options) {
    const std::string& path = options.checkpoint_path;
    MappedFile file(path);
    const uint8_t* data = file.data();

    Llama2cImportResult result;
    Config c{};
    size_t header_bytes;
    bool shared;
    uint32_t magic = 0;
    if (file.size() >= 4) std::memcpy(&magic, data, 4);
    if (magic == kVersion1Magic) {
        if (file.size() < kVersion1HeaderBytes) throw input_error(path, "truncated llama2.c v1 header");
        int32_t version;
        std::memcpy(&version, data + 4, 4);
        if (version != 1)
            throw input_error(path, "llama2.c checkpoint version " + std::to_string(version) +
                                        " is not supported (supported: 0 legacy and 1 fp32)");
        std::memcpy(&c, data + 8, sizeof c);
        shared = data[8 + sizeof c] != 0;
        header_bytes = kVersion1HeaderBytes;
        result.checkpoint_version = 1;
    } else {
        if (file.size() < sizeof c) throw input_error(path, "too small for a llama2.c checkpoint header");
        std::memcpy(&c, data, sizeof c);
        // A negative vocabulary size is llama2.c's flag for a separate classifier matrix.
        shared = c.vocab_size > 0;
        if (c.vocab_size < 0) c.vocab_size = -c.vocab_size;
        header_bytes = sizeof c;
    }
    check_config(path, c);
    const WeightLayout w = result.checkpoint_version == 1 ? layout_version1(c, shared) : layout_version0(c, shared);
    const uint64_t expected = header_bytes + uint64_t(w.total_floats) * 4;
    if (file.size() != expected)
        throw input_error(path, "size " + std::to_string(file.size()) + " bytes does not match the header (dim " +
                                    std::to_string(c.dim) + ", " + std::to_string(c.n_layers) +
                                    " layers, vocab " + std::to_string(c.vocab_size) + "): expected " +
                                    std::to_string(expected));
    Vocabulary vocab = read_tokenizer(options.tokenizer_path, c.vocab_size);

    const float* weights = reinterpret_cast<const float*>(data + header_bytes);
    const int64_t dim = c.dim, hidden = c.hidden_dim, kv_dim = int64_t(c.dim) / c.n_heads * c.n_kv_heads;
    const int64_t head = dim / c.n_heads;

    std::vector<gguf::TensorToWrite> tensors;
    auto add = [&](std::string name, std::vector<int64_t> dims, size_t offset_floats) {
        gguf::TensorToWrite t;
        t.name = std::move(name);
        t.dims = std::move(dims);
        t.type = quant::TypeId::F32;
        t.data = weights + offset_floats;
        tensors.push_back(std::move(t));
    };
    // Order and names as llama.cpp's llama2c converter writes them.
    using model::TensorRole;
    using model::tensor_name;
    add(tensor_name(TensorRole::TokenEmbedding), {dim, c.vocab_size}, w.tok_embeddings);
    for (int64_t l = 0; l < c.n_layers; ++l) {
        add(tensor_name(TensorRole::AttnQ, l), {dim, dim}, w.wq + l * dim * dim);
        add(tensor_name(TensorRole::AttnK, l), {dim, kv_dim}, w.wk + l * kv_dim * dim);
        add(tensor_name(TensorRole::AttnV, l), {dim, kv_dim}, w.wv + l * kv_dim * dim);
        add(tensor_name(TensorRole::AttnOutput, l), {dim, dim}, w.wo + l * dim * dim);
        add(tensor_name(TensorRole::FfnGate, l), {dim, hidden}, w.w1 + l * hidden * dim);
        add(tensor_name(TensorRole::FfnDown, l), {hidden, dim}, w.w2 + l * dim * hidden);
        add(tensor_name(TensorRole::FfnUp, l), {dim, hidden}, w.w3 + l * hidden * dim);
        add(tensor_name(TensorRole::AttnNorm, l), {dim}, w.rms_att + l * dim);
        add(tensor_name(TensorRole::FfnNorm, l), {dim}, w.rms_ffn + l * dim);
    }
    add(tensor_name(TensorRole::OutputNorm), {dim}, w.rms_final);
    add(tensor_name(TensorRole::Output), {dim, c.vocab_size}, w.wcls);

    std::vector<KeyValue> meta;
    auto put = [&](std::string key, Value v) { meta.push_back({std::move(key), std::move(v)}); };
    put("general.architecture", Value::string("llama"));
    put("general.name", Value::string(options.model_name.empty() ? file_stem(path) : options.model_name));
    put("general.file_type", Value(uint32_t(0)));  // all F32
    // llama2.c keeps Meta's q/k layout, in which RoPE rotates adjacent pairs as llama.cpp expects.
    put("llama.tensor_data_layout", Value::string("Meta AI original pth"));
    put("llama.context_length", Value(uint32_t(c.seq_len)));
    put("llama.embedding_length", Value(uint32_t(c.dim)));
    put("llama.block_count", Value(uint32_t(c.n_layers)));
    put("llama.feed_forward_length", Value(uint32_t(c.hidden_dim)));
    put("llama.rope.dimension_count", Value(uint32_t(head)));
    put("llama.attention.head_count", Value(uint32_t(c.n_heads)));
    put("llama.attention.head_count_kv", Value(uint32_t(c.n_kv_heads)));
    put("llama.attention.layer_norm_rms_epsilon", Value(options.rms_epsilon));
    put("tokenizer.ggml.model", Value::string("llama"));
    put("tokenizer.ggml.tokens", array_of(ValueType::String, vocab.tokens));
    put("tokenizer.ggml.scores", array_of(ValueType::F32, vocab.scores));
    put("tokenizer.ggml.token_type", array_of(ValueType::I32, vocab.types));
    put("tokenizer.ggml.bos_token_id", Value(uint32_t(1)));
    put("tokenizer.ggml.eos_token_id", Value(uint32_t(2)));
    put("tokenizer.ggml.unknown_token_id", Value(uint32_t(0)));
    put("tokenizer.ggml.padding_token_id", Value(uint32_t(0)));

    gguf::WriteOptions write_options;
    write_options.refuse_overwrite_of = path;
    result.bytes_written = gguf::write_gguf(options.output_path, meta, tensors, write_options);
    result.dim = c.dim;
    result.hidden_dim = c.hidden_dim;
    result.n_layers = c.n_layers;
    result.n_heads = c.n_heads;
    result.n_kv_heads = c.n_kv_heads;
    result.vocab_size = c.vocab_size;
    result.seq_len = c.seq_len;
    result.shared_classifier = shared;
    result.tensor_count = tensors.size();
    return result;
}

}  // namespace dilmodeli::producers
