#pragma once
// Text generation: prompt processing in one batch, then token-by-token decoding with a sampler,
// streaming decoded text as whole UTF-8 characters.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "runtime/sampler.h"

namespace dilmodeli::tokenizer { class Tokenizer; }

namespace dilmodeli::model { class Session; }

namespace dilmodeli::runtime {

using model::Session;

struct GenerationOptions {
    int64_t n_predict = 128;
    SamplerOptions sampler;
    bool stop_at_end_of_generation = true;  // stop at EOS/EOT
};

struct GenerationResult {
    std::vector<int32_t> prompt_tokens;
    std::vector<int32_t> tokens;  // generated
    std::string text;             // generated text
    double prompt_ms = 0;
    double generation_ms = 0;
    bool stopped_at_eos = false;
    bool stopped_at_context = false;

    double prompt_tokens_per_second() const;
    double generation_tokens_per_second() const;
};

// Error(Usage) when the prompt does not fit in the session's context.
GenerationResult generate(Session& session, const tokenizer::Tokenizer& tokenizer, const std::string& prompt,
                          const GenerationOptions& options,
                          const std::function<void(const std::string&)>& on_text = {});

}  // namespace dilmodeli::runtime
