#include "compress/calibrated_input.h"

#include <algorithm>
#include <spdlog/spdlog.h>

#include "common/mapped_file.h"
#include "compress/mixed_sensitivity.h"
#include "gguf/gguf_file.h"
#include "model/model.h"
#include "runtime/model_loader.h"
#include "tokenizer/tokenizer.h"

namespace dilmodeli::compress {

CalibratedInput::CalibratedInput() = default;
CalibratedInput::~CalibratedInput() = default;
CalibratedInput::CalibratedInput(CalibratedInput&&) noexcept = default;
CalibratedInput& CalibratedInput::operator=(CalibratedInput&&) noexcept = default;

const gguf::GgufFile& CalibratedInput::input() const { return model ? model->file() : *file; }

void CalibratedInput::close() {
    model.reset();
    file.reset();
}

CalibratedInput open_for_calibration(const std::string& path, const CalibrationRequest& request) {
    CalibratedInput in;
    if (request.text_path.empty()) in.file = gguf::GgufFile::open(path);
    else in.model = runtime::load_model(path);
    return in;
}

CalibratedInput open_calibrated(const std::string& path, const CalibrationRequest& request) {
    CalibratedInput in = open_for_calibration(path, request);
    calibrate(in, request);
    return in;
}

void calibrate(CalibratedInput& in, const CalibrationRequest& request) {
    if (!in.model || request.text_path.empty()) return;
    model::Model& model = *in.model;
    CalibrationOptions options;
    options.ctx = request.ctx > 0 ? request.ctx : std::min<int64_t>(256, model.config().context_length);
    options.max_chunks = request.chunks;
    options.threads = request.threads;
    options.progress = request.progress;
    in.ctx = options.ctx;
    // Mixed precision reads the text and the tokenizer before it says what it calibrates on,
    // pruning after: the order in which a missing file or tokenizer is reported.
    std::unique_ptr<tokenizer::Tokenizer> tokenizer;
    std::unique_ptr<MappedFile> text;
    auto open_text = [&] {
        if (request.tokens) tokenizer = tokenizer::Tokenizer::from_gguf(model.file());
        text = std::make_unique<MappedFile>(request.text_path);
        if (!tokenizer) tokenizer = tokenizer::Tokenizer::from_gguf(model.file());
    };
    if (request.tokens) open_text();
    if (request.purpose.empty())
        spdlog::info("calibrating on {} ({} chunks of {} tokens)", request.text_path,
                     request.chunks > 0 ? std::to_string(request.chunks) : std::string("all"), options.ctx);
    else
        spdlog::info("calibrating on {} for {}", request.text_path, request.purpose);
    if (!text) open_text();
    {
        const std::string content(reinterpret_cast<const char*>(text->data()), text->size());
        in.stats = collect_activation_stats(model, *tokenizer, content, options);
        if (request.tokens) {
            in.tokens = tokenizer->encode(content, true);
            in.bos_id = tokenizer->bos_id();
            in.token_counts = count_tokens(in.tokens, model.config().n_vocab, in.stats.tokens);
        }
    }
    text.reset();
    if (request.ffn_gram) in.gram = collect_ffn_gram(model, request.text_path, options);
}

}  // namespace dilmodeli::compress
