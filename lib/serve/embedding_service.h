#pragma once
// /v1/embeddings: texts embedded as llama-server's OpenAI endpoint does (pooled, Euclidean-
// normalized), in a session of their own beside the engine's, made on the first request.
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/embedding.h"

namespace dilmodeli::model {
class Model;
class Session;
}  // namespace dilmodeli::model
namespace dilmodeli::tokenizer { class Tokenizer; }

namespace dilmodeli::serve {

class EmbeddingService {
public:
    // `pooling`: the file's <arch>.pooling_type, or mean when it has none (one vector a text is
    // what OpenAI's endpoint returns).
    EmbeddingService(model::Model& model, const tokenizer::Tokenizer& tokenizer, int64_t context, int threads);
    ~EmbeddingService();

    struct Result {
        std::vector<std::vector<float>> vectors;
        int64_t prompt_tokens = 0;
    };
    // ApiError(400) for an empty text or one longer than the context.
    Result embed(const std::vector<std::string>& texts);
    runtime::Pooling pooling() const { return pooling_; }

private:
    model::Model& model_;
    const tokenizer::Tokenizer& tokenizer_;
    int64_t context_;
    int threads_;
    runtime::Pooling pooling_;
    std::mutex mutex_;
    std::unique_ptr<model::Session> session_;
};

}  // namespace dilmodeli::serve
