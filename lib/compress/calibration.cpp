#include "compress/calibration.h"

#include <algorithm>
#include <unordered_map>

#include "common/error.h"
#include "common/mapped_file.h"
#include "model/model.h"
#include "model/matmul_observer.h"
#include "tokenizer/tokenizer.h"

namespace dilmodeli::compress {
namespace {

// Sums x_j^2 per input column of each matrix, keyed by the weight's address in the mapping.
class SquareSumObserver : public model::MatmulObserver {
public:
    explicit SquareSumObserver(const gguf::GgufFile& file) {
        for (const gguf::TensorInfo& t : file.tensors()) names_.emplace(t.data, t.name);
    }
    void on_matmul_input(const kernels::WeightMatrix& w, const float* x, int64_t n_tokens) override {
        auto name = names_.find(w.data);
        if (name == names_.end()) return;
        Accumulator& acc = sums_[name->second];
        if (acc.sum.empty()) acc.sum.assign(size_t(w.cols), 0.0);
        for (int64_t t = 0; t < n_tokens; ++t) {
            const float* row = x + t * w.cols;
            for (int64_t j = 0; j < w.cols; ++j) acc.sum[size_t(j)] += double(row[j]) * double(row[j]);
        }
        acc.rows += n_tokens;
    }
    ActivationStats finish(int64_t tokens) const {
        ActivationStats stats;
        stats.tokens = tokens;
        for (const auto& [name, acc] : sums_) {
            std::vector<float>& out = stats.mean_square[name];
            out.resize(acc.sum.size());
            for (size_t j = 0; j < acc.sum.size(); ++j) out[j] = float(acc.sum[j] / double(std::max<int64_t>(1, acc.rows)));
        }
        return stats;
    }

private:
    struct Accumulator {
        std::vector<double> sum;
        int64_t rows = 0;
    };
    std::unordered_map<const uint8_t*, std::string> names_;
    std::map<std::string, Accumulator> sums_;
};

}  // namespace

int64_t run_calibration_chunks(model::Model& model, const tokenizer::Tokenizer& tokenizer,
                               const std::string& text, const CalibrationOptions& options,
                               model::MatmulObserver& observer) {
    const auto tokens = tokenizer.encode(text, true);
    const int64_t ctx = options.ctx;
    if (ctx < 2) throw usage_error("calibration context " + std::to_string(ctx) + " is too small");
    const int64_t available = int64_t(tokens.size()) / ctx;
    if (available == 0)
        throw usage_error("calibration text has " + std::to_string(tokens.size()) + " tokens, fewer than one chunk of " +
                          std::to_string(ctx));
    const int64_t chunks = options.max_chunks > 0 ? std::min(options.max_chunks, available) : available;

    model::SessionOptions so;
    so.context = ctx;
    so.max_batch = ctx;
    so.threads = options.threads;
    model::Session session(model, so);
    session.set_observer(&observer);
    std::vector<int32_t> chunk(static_cast<size_t>(ctx));
    for (int64_t c = 0; c < chunks; ++c) {
        std::copy_n(tokens.begin() + c * ctx, ctx, chunk.begin());
        if (tokenizer.bos_id() >= 0) chunk[0] = tokenizer.bos_id();
        session.reset();
        session.decode(chunk.data(), ctx, false);
        if (options.progress) options.progress(c + 1, chunks);
    }
    return chunks * ctx;
}

ActivationStats collect_activation_stats(model::Model& model, const tokenizer::Tokenizer& tokenizer,
                                         const std::string& text, const CalibrationOptions& options) {
    SquareSumObserver observer(model.file());
    const int64_t tokens = run_calibration_chunks(model, tokenizer, text, options, observer);
    return observer.finish(tokens);
}

ActivationStats collect_activation_stats_from_file(model::Model& model, const std::string& text_path,
                                                   const CalibrationOptions& options) {
    MappedFile text(text_path);
    auto tokenizer = tokenizer::Tokenizer::from_gguf(model.file());
    return collect_activation_stats(model, *tokenizer,
                                    std::string(reinterpret_cast<const char*>(text.data()), text.size()), options);
}

}  // namespace dilmodeli::compress
