#include "compress/mixed_sensitivity.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <unistd.h>

#include "common/error.h"
#include "gguf/gguf_file.h"
#include "model/model.h"
#include "runtime/model_loader.h"

namespace dilmodeli::compress {
namespace {

using quant::TypeId;

// A private, nameless copy of a file: created in `dir`, unlinked at once, reachable through
// /proc/self/fd while the descriptor lives.
class ScratchCopy {
public:
    ScratchCopy(const std::string& source, const std::string& dir) {
        std::string pattern = (dir.empty() ? std::string(".") : dir) + "/.dilmodeli-sensitivity-XXXXXX";
        std::vector<char> name(pattern.begin(), pattern.end());
        name.push_back('\0');
        fd_ = ::mkstemp(name.data());
        if (fd_ < 0) throw io_error(dir, std::string("cannot create a scratch file: ") + std::strerror(errno));
        ::unlink(name.data());
        const int in = ::open(source.c_str(), O_RDONLY | O_CLOEXEC);
        if (in < 0) throw io_error(source, std::string("cannot open: ") + std::strerror(errno));
        std::vector<char> buffer(1 << 20);
        for (;;) {
            const ssize_t n = ::read(in, buffer.data(), buffer.size());
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) {
                const int err = errno;
                ::close(in);
                throw io_error(source, std::string("cannot read: ") + std::strerror(err));
            }
            if (n == 0) break;
            write_at(buffer.data(), size_t(n), offset_);
            offset_ += uint64_t(n);
        }
        ::close(in);
    }
    ~ScratchCopy() {
        if (fd_ >= 0) ::close(fd_);
    }
    ScratchCopy(const ScratchCopy&) = delete;
    ScratchCopy& operator=(const ScratchCopy&) = delete;

    std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }

    void write_at(const void* data, size_t size, uint64_t offset) {
        const char* p = static_cast<const char*>(data);
        while (size > 0) {
            const ssize_t n = ::pwrite(fd_, p, size, off_t(offset));
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) throw io_error("scratch copy", std::string("cannot write: ") + std::strerror(errno));
            p += n;
            size -= size_t(n);
            offset += uint64_t(n);
        }
    }

private:
    int fd_ = -1;
    uint64_t offset_ = 0;
};

// log softmax of one row, in double, stored as float.
void log_softmax(const float* logits, int64_t n, float* out) {
    double max = logits[0];
    for (int64_t i = 1; i < n; ++i) max = std::max(max, double(logits[i]));
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += std::exp(double(logits[i]) - max);
    const double log_sum = std::log(sum) + max;
    for (int64_t i = 0; i < n; ++i) out[i] = float(double(logits[i]) - log_sum);
}

// Runs the chunks; calls `row(position, logits)` for every position of every chunk in order.
template <typename Row>
void run_chunks(model::Model& model, const std::vector<int32_t>& tokens, int32_t bos_id, int64_t chunks,
                int64_t ctx, int threads, Row&& row) {
    model::SessionOptions so;
    so.context = ctx;
    so.max_batch = ctx;
    so.threads = threads;
    model::Session session(model, so);
    const int64_t vocab = model.config().n_vocab;
    std::vector<int32_t> chunk(static_cast<size_t>(ctx));
    for (int64_t c = 0; c < chunks; ++c) {
        std::copy_n(tokens.begin() + c * ctx, ctx, chunk.begin());
        if (bos_id >= 0) chunk[0] = bos_id;
        session.reset();
        session.decode(chunk.data(), ctx, true);
        const std::vector<float>& logits = session.logits();
        for (int64_t j = 0; j < ctx; ++j) row(c * ctx + j, &logits[size_t(j * vocab)]);
    }
}

// The tensor's values after a round trip through `probe`, stored back in the tensor's own
// (float) type.
std::vector<uint8_t> perturbed_bytes(const gguf::TensorInfo& t, TypeId probe, const std::vector<float>* importance) {
    const quant::TypeInfo& from = t.type_info();
    const quant::TypeInfo& to = quant::type_info(probe);
    const int64_t cols = t.row_length(), rows = t.n_rows();
    const size_t row_bytes = from.row_bytes(cols);
    std::vector<uint8_t> out(row_bytes * size_t(rows));
    const float* rounding = importance && int64_t(importance->size()) == cols ? importance->data() : nullptr;
    tbb::parallel_for(tbb::blocked_range<int64_t>(0, rows, 16), [&](const tbb::blocked_range<int64_t>& r) {
        std::vector<float> source(static_cast<size_t>(cols)), back(static_cast<size_t>(cols));
        std::vector<uint8_t> packed(to.row_bytes(cols));
        for (int64_t i = r.begin(); i < r.end(); ++i) {
            from.dequantize_row(t.data + size_t(i) * row_bytes, source.data(), cols);
            to.quantize_row(source.data(), packed.data(), cols, rounding);
            to.dequantize_row(packed.data(), back.data(), cols);
            from.quantize_row(back.data(), out.data() + size_t(i) * row_bytes, cols, nullptr);
        }
    });
    return out;
}

}  // namespace

std::vector<double> count_tokens(const std::vector<int32_t>& tokens, int64_t vocabulary, int64_t limit) {
    std::vector<double> counts(size_t(std::max<int64_t>(0, vocabulary)), 0.0);
    const size_t n = limit > 0 ? std::min(tokens.size(), size_t(limit)) : tokens.size();
    for (size_t i = 0; i < n; ++i)
        if (tokens[i] >= 0 && tokens[i] < vocabulary) counts[size_t(tokens[i])] += 1;
    return counts;
}

SensitivityReport measure_sensitivity(const gguf::GgufFile& input, const std::vector<int32_t>& tokens, int32_t bos_id,
                                      const std::vector<TensorCandidates>& candidates,
                                      const SensitivityOptions& options) {
    const auto start = std::chrono::steady_clock::now();
    if (options.ctx < 2) throw usage_error("sensitivity context " + std::to_string(options.ctx) + " is too small");
    const int64_t available = int64_t(tokens.size()) / options.ctx;
    if (options.probes.empty()) throw usage_error("sensitivity needs at least one probe type");
    if (available == 0 || options.chunks < 1)
        throw usage_error("sensitivity needs at least one chunk of " + std::to_string(options.ctx) +
                          " calibration tokens; the text has " + std::to_string(tokens.size()));
    const int64_t chunks = std::min(options.chunks, available);
    for (const TensorCandidates& c : candidates) {
        const quant::TypeInfo& type = input.tensors().at(c.file_index).type_info();
        if (!type.is_float)
            throw usage_error("sensitivity needs a float model, '" + c.name + "' is " + type.name +
                              " (use --sensitivity-chunks 0)");
    }

    ScratchCopy copy(input.path(), options.scratch_dir);
    SensitivityReport report;

    // Reference distributions: (chunks * ctx, vocab) log-probabilities.
    auto reference_model = runtime::load_model(copy.path());
    const int64_t vocab = reference_model->config().n_vocab;
    const int64_t positions = chunks * options.ctx;
    std::vector<float> reference(size_t(positions * vocab));
    run_chunks(*reference_model, tokens, bos_id, chunks, options.ctx, options.threads,
               [&](int64_t pos, const float* logits) { log_softmax(logits, vocab, &reference[size_t(pos * vocab)]); });
    reference_model.reset();
    report.tokens = positions;
    report.reference_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    std::vector<float> log_probs(static_cast<size_t>(vocab));
    for (size_t p = 0; p < candidates.size(); ++p) {
        const TensorCandidates& c = candidates[p];
        const gguf::TensorInfo& t = input.tensors()[c.file_index];
        const std::vector<float>* importance = nullptr;
        if (options.stats) {
            auto it = options.stats->mean_square.find(t.name);
            if (it != options.stats->mean_square.end()) importance = &it->second;
        }
        std::vector<size_t> probes;
        for (TypeId type : options.probes) probes.push_back(probe_index(c, type));
        std::sort(probes.begin(), probes.end());  // candidates are in increasing bits
        probes.erase(std::unique(probes.begin(), probes.end()), probes.end());
        TensorSensitivity& sensitivity = report.tensors[c.name];
        const uint64_t offset = input.data_offset() + t.offset;
        for (size_t probe : probes) {
            const std::vector<uint8_t> changed = perturbed_bytes(t, c.types[probe], importance);
            copy.write_at(changed.data(), changed.size(), offset);
            double kl = 0;
            {
                auto perturbed = runtime::load_model(copy.path());
                run_chunks(*perturbed, tokens, bos_id, chunks, options.ctx, options.threads,
                           [&](int64_t pos, const float* logits) {
                               log_softmax(logits, vocab, log_probs.data());
                               const float* ref = &reference[size_t(pos * vocab)];
                               double sum = 0;
                               for (int64_t v = 0; v < vocab; ++v)
                                   sum += std::exp(double(ref[v])) * (double(ref[v]) - double(log_probs[size_t(v)]));
                               kl += std::max(0.0, sum);
                           });
            }
            copy.write_at(t.data, t.n_bytes, offset);  // restored for the next probe
            kl /= double(positions);
            sensitivity.bits.push_back(quant::type_info(c.types[probe]).bits_per_weight());
            sensitivity.kl.push_back(kl);
            sensitivity.alpha.push_back(c.error[probe] > 0 ? kl / c.error[probe] : 0.0);
        }
        if (options.progress) options.progress(p + 1, candidates.size());
    }
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return report;
}

}  // namespace dilmodeli::compress
