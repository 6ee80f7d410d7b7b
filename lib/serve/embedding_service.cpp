#include "serve/embedding_service.h"

#include "common/error.h"
#include "model/model.h"
#include "serve/openai_api.h"
#include "tokenizer/tokenizer.h"

namespace dilmodeli::serve {

EmbeddingService::EmbeddingService(model::Model& model, const tokenizer::Tokenizer& tokenizer, int64_t context,
                                   int threads)
    : model_(model), tokenizer_(tokenizer), context_(context), threads_(threads) {
    pooling_ = runtime::model_pooling(model);
    if (pooling_ == runtime::Pooling::None) pooling_ = runtime::Pooling::Mean;
}

EmbeddingService::~EmbeddingService() = default;

EmbeddingService::Result EmbeddingService::embed(const std::vector<std::string>& texts) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!session_) {
        model::SessionOptions options;
        options.context = context_;
        options.threads = threads_;
        options.output = model::DecodeOutput::Hidden;
        session_ = std::make_unique<model::Session>(model_, options);
    }
    Result result;
    for (size_t i = 0; i < texts.size(); ++i) {
        try {
            runtime::Embedding e = runtime::embed(*session_, tokenizer_, texts[i], pooling_, true);
            result.prompt_tokens += e.tokens;
            result.vectors.push_back(std::move(e.values));
        } catch (const Error& e) {
            throw ApiError(400, "input[" + std::to_string(i) + "]: " + e.what(), "input");
        }
    }
    return result;
}

}  // namespace dilmodeli::serve
