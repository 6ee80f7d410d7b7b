#include "runtime/embedding.h"

#include <algorithm>
#include <cmath>

#include "common/enum_names.h"
#include "common/error.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace dilmodeli::runtime {

namespace {

const EnumName<Pooling> kPoolingNames[] = {
    {Pooling::None, "none"}, {Pooling::Mean, "mean"}, {Pooling::Cls, "cls"}, {Pooling::Last, "last"}};

}  // namespace

Pooling parse_pooling(const std::string& name) { return parse_enum(kPoolingNames, name, "pooling"); }

const char* pooling_name(Pooling pooling) { return enum_name(kPoolingNames, pooling); }

Pooling model_pooling(const model::Model& model) {
    const gguf::GgufFile& file = model.file();
    const std::string key = model.config().architecture + ".pooling_type";
    const int64_t value = file.get_int_or(key, int64_t(Pooling::None));
    if (value == 4)
        throw input_error(file.path(), key + " is 4 (rank): reranking needs a classification head, which "
                                             "this model family has not; choose --pooling");
    if (value < 0 || value > 3)
        throw input_error(file.path(), key + " " + std::to_string(value) + " is not a pooling type (0 none, 1 mean, "
                                                                          "2 cls, 3 last)");
    return Pooling(value);
}

void normalize_euclidean(float* v, int64_t n) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += v[i] * v[i];  // float squares, double sum: as llama.cpp
    sum = std::sqrt(sum);
    const float scale = sum > 0.0 ? float(1.0 / sum) : 0.0f;
    for (int64_t i = 0; i < n; ++i) v[i] *= scale;
}

Embedding embed_tokens(model::Session& session, const std::vector<int32_t>& tokens, Pooling pooling,
                       bool normalize) {
    if (session.output() != model::DecodeOutput::Hidden)
        throw usage_error("embeddings need a session made with DecodeOutput::Hidden");
    if (tokens.empty()) throw usage_error("empty text: nothing to embed");
    const int64_t n = int64_t(tokens.size());
    if (n > session.context())
        throw usage_error("a text of " + std::to_string(n) + " tokens does not fit --ctx " +
                          std::to_string(session.context()));
    session.reset();
    session.decode(tokens.data(), n, true);
    const std::vector<float>& hidden = session.hidden();  // (n, n_embd)

    Embedding e;
    e.n_embd = session.model().config().n_embd;
    e.tokens = n;
    const size_t d = size_t(e.n_embd);
    switch (pooling) {
        case Pooling::None:
            e.values = hidden;
            break;
        case Pooling::Cls:  // the first token (BOS): what BERT-style encoders pool
            e.values.assign(hidden.begin(), hidden.begin() + std::ptrdiff_t(d));
            break;
        case Pooling::Last:
            e.values.assign(hidden.end() - std::ptrdiff_t(d), hidden.end());
            break;
        case Pooling::Mean: {
            std::vector<double> sum(d, 0.0);
            for (int64_t t = 0; t < n; ++t)
                for (size_t i = 0; i < d; ++i) sum[i] += hidden[size_t(t) * d + i];
            e.values.resize(d);
            for (size_t i = 0; i < d; ++i) e.values[i] = float(sum[i] / double(n));
            break;
        }
    }
    if (normalize)
        for (int64_t r = 0; r < e.rows(); ++r) normalize_euclidean(&e.values[size_t(r) * d], e.n_embd);
    return e;
}

Embedding embed(model::Session& session, const tokenizer::Tokenizer& tokenizer, std::string_view text,
                Pooling pooling, bool normalize) {
    if (text.empty()) throw usage_error("empty text: nothing to embed");
    // llama-embedding: common_tokenize(ctx, prompt, add_special = true, parse_special = true).
    return embed_tokens(session, tokenizer.encode(text, true, true), pooling, normalize);
}

std::vector<std::string> texts_from_lines(std::string_view content, const std::string& source) {
    std::vector<std::string> texts;
    size_t start = 0;
    while (start < content.size()) {
        size_t end = content.find('\n', start);
        if (end == std::string_view::npos) end = content.size();
        std::string_view line = content.substr(start, end - start);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty())
            throw input_error(source, "line " + std::to_string(texts.size() + 1) +
                                          " is empty (one text a line, none empty)");
        texts.emplace_back(line);
        start = end + 1;
    }
    if (texts.empty()) throw input_error(source, "has no text to embed");
    return texts;
}

}  // namespace dilmodeli::runtime
