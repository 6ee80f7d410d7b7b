#pragma once
// Text embeddings computed as llama.cpp's llama-embedding computes them: the text tokenized with
// BOS (and EOS when the vocabulary asks for it) and control tokens parsed, decoded from an empty
// cache, and the hidden states after the final norm (llama.cpp's result_norm, what the output
// head would read) pooled over the text's tokens.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dilmodeli::model {
class Model;
class Session;
}  // namespace dilmodeli::model
namespace dilmodeli::tokenizer { class Tokenizer; }

namespace dilmodeli::runtime {

// llama.cpp's llama_pooling_type values, as <arch>.pooling_type stores them. Rank (4) needs a
// classification head, which no family here has.
enum class Pooling { None = 0, Mean = 1, Cls = 2, Last = 3 };

// "none", "mean", "cls", "last"; Error(Usage) naming the choices otherwise.
Pooling parse_pooling(const std::string& name);
const char* pooling_name(Pooling pooling);
// The file's <arch>.pooling_type; None when it has none, as llama.cpp. Error(BadInput) for rank
// or a value llama.cpp does not define.
Pooling model_pooling(const model::Model& model);

struct Embedding {
    int64_t n_embd = 0;
    int64_t tokens = 0;          // the text's tokens, BOS included
    std::vector<float> values;   // (rows, n_embd): one row, or one per token with Pooling::None
    int64_t rows() const { return n_embd > 0 ? int64_t(values.size()) / n_embd : 0; }
};

// The embedding of one text, in sequence 0 of `session` (reset first), which must have been made
// with SessionOptions::output = DecodeOutput::Hidden. `normalize` divides each row by its
// Euclidean norm (llama-embedding's default --embd-normalize 2). Error(Usage) for an empty text,
// one whose tokens do not fit the session's context, or a session that gives logits.
Embedding embed(model::Session& session, const tokenizer::Tokenizer& tokenizer, std::string_view text,
                Pooling pooling, bool normalize);
// The same for tokens already made.
Embedding embed_tokens(model::Session& session, const std::vector<int32_t>& tokens, Pooling pooling,
                       bool normalize);

// v / |v|_2, computed as llama.cpp's common_embd_normalize(v, v, n, 2); a zero vector stays zero.
void normalize_euclidean(float* v, int64_t n);

// A file's texts, one a line ("\n" or "\r\n"; the last line needs no newline). Error(BadInput)
// naming `source` and the line for an empty line, and for a file without text.
std::vector<std::string> texts_from_lines(std::string_view content, const std::string& source);

}  // namespace dilmodeli::runtime
