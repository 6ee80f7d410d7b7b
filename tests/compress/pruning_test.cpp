// prune: unstructured zeros and structured FFN channels, by magnitude, Wanda and the Nash game,
// on the real stories260K and tinystories-5M models.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "common/error.h"
#include "compress/calibration.h"
#include "compress/prune_saliency.h"
#include "compress/pruning.h"
#include "gguf/gguf_file.h"
#include "model/model.h"
#include "runtime/perplexity.h"
#include "support/run_cli.h"
#include "support/shared_data.h"
#include "tokenizer/tokenizer.h"

using namespace dilmodeli;
using namespace dilmodeli::testing;

namespace {

const char* const kStories = "models/stories260K/stories260K.gguf";
const char* const kTiny = "models/tinystories-5M/tinystories-5M-F32.gguf";
const char* const kTrain = "data/tinystories/train.txt";
const char* const kHeldout = "data/tinystories/heldout.txt";

// Calibration on the training text, small enough for a unit test.
struct Calibrated {
    std::unique_ptr<model::Model> model;
    compress::ActivationStats stats;
    compress::FfnGram gram;
};

Calibrated calibrate(const std::string& model_path, int64_t ctx, int64_t chunks) {
    Calibrated c;
    c.model = model::Model::load(model_path);
    compress::CalibrationOptions options;
    options.ctx = ctx;
    options.max_chunks = chunks;
    c.stats = compress::collect_activation_stats_from_file(*c.model, shared_path(kTrain), options);
    c.gram = compress::collect_ffn_gram(*c.model, shared_path(kTrain), options);
    return c;
}

compress::PruneOptions options_for(const std::string& out, compress::PruneMethod method, double sparsity,
                                   const Calibrated& c) {
    compress::PruneOptions o;
    o.output_path = out;
    o.method = method;
    o.sparsity = sparsity;
    o.stats = &c.stats;
    o.ffn_gram = &c.gram;
    return o;
}

bool same_tensors(const gguf::GgufFile& a, const gguf::GgufFile& b) {
    if (a.tensors().size() != b.tensors().size()) return false;
    for (const auto& t : a.tensors()) {
        const gguf::TensorInfo* u = b.find_tensor(t.name);
        if (!u || u->dims != t.dims || u->type != t.type || u->n_bytes != t.n_bytes) return false;
        if (std::memcmp(u->data, t.data, t.n_bytes) != 0) return false;
    }
    return true;
}

double heldout_perplexity(const std::string& path, int64_t ctx, int64_t chunks) {
    auto model = model::Model::load(path);
    auto tokenizer = tokenizer::Tokenizer::from_gguf(model->file());
    const std::string text = read_text_file(shared_path(kHeldout));
    const auto tokens = tokenizer->encode(text, true);
    model::SessionOptions so;
    so.context = ctx;
    so.max_batch = ctx;
    model::Session session(*model, so);
    runtime::PerplexityOptions po;
    po.ctx = ctx;
    po.max_chunks = chunks;
    po.bos_id = tokenizer->bos_id();
    return runtime::perplexity(session, tokens, po).perplexity;
}

const compress::PruneMethod kMethods[] = {compress::PruneMethod::Magnitude, compress::PruneMethod::Wanda,
                                          compress::PruneMethod::Nash};

}  // namespace

TEST_CASE("prune reaches the target sparsity with every method", "[compress][prune]") {
    if (!have_shared(kStories) || !have_shared(kTrain)) return;
    const Calibrated c = calibrate(shared_path(kStories), 64, 4);
    const std::string dir = temp_dir("prune-sparsity");
    for (compress::PruneMethod method : kMethods) {
        INFO(compress::prune_method_name(method));
        // Unstructured: every row loses round(0.3 * cols) weights (Nash: within one eighth of a
        // 32-weight run per tensor), and the file holds exactly those zeros.
        const std::string out = dir + "/u.gguf";
        auto report = compress::prune_model(c.model->file(), options_for(out, method, 0.3, c));
        CHECK(report.prunable == 5 * (2 * 64 * 64 + 2 * 32 * 64 + 3 * 64 * 172));  // q, o, k, v, gate, up, down
        CHECK(std::fabs(report.achieved_sparsity - 0.3) < 0.5 / 64);
        auto pruned = gguf::GgufFile::open(out);
        int64_t zeros = 0, originally_zero = 0;
        for (const auto& t : report.tensors) {
            const auto after = compress::tensor_as_floats(pruned->require_tensor(t.name));
            const auto before = compress::tensor_as_floats(c.model->file().require_tensor(t.name));
            for (size_t i = 0; i < after.size(); ++i) {
                zeros += after[i] == 0.0f;
                originally_zero += before[i] == 0.0f;
                if (after[i] != 0.0f) REQUIRE(after[i] == before[i]);  // kept weights are untouched
            }
            if (method == compress::PruneMethod::Nash)
                CHECK(std::fabs(double(t.pruned) - 0.3 * double(after.size())) <= 4);
        }
        CHECK(zeros - originally_zero <= report.pruned);
        CHECK(zeros >= report.pruned);

        // Structured: 172 channels per layer (not a multiple of 32, so widths round to 1): 120 kept.
        const std::string sout = dir + "/s.gguf";
        auto o = options_for(sout, method, 0.3, c);
        o.structure = compress::PruneStructure::FfnChannels;
        auto s = compress::prune_model(c.model->file(), o);
        CHECK(s.ffn_widths == std::vector<int64_t>(5, 120));
        CHECK(s.achieved_sparsity == Approx(52.0 / 172.0));
    }
}

TEST_CASE("magnitude pruning removes the smallest weights of every row", "[compress][prune]") {
    if (!have_shared(kStories)) return;
    auto input = gguf::GgufFile::open(shared_path(kStories));
    const std::string out = temp_dir("prune-magnitude") + "/m.gguf";
    compress::PruneOptions o;
    o.output_path = out;
    o.sparsity = 0.5;
    compress::prune_model(*input, o);
    auto pruned = gguf::GgufFile::open(out);
    for (const char* name : {"blk.1.attn_q.weight", "blk.3.ffn_down.weight"}) {
        INFO(name);
        const auto& t = input->require_tensor(name);
        const auto before = compress::tensor_as_floats(t);
        const auto after = compress::tensor_as_floats(pruned->require_tensor(name));
        const int64_t cols = t.row_length();
        for (int64_t r = 0; r < t.n_rows(); ++r) {
            float largest_pruned = 0, smallest_kept = INFINITY;
            int64_t count = 0;
            for (int64_t j = 0; j < cols; ++j) {
                const float w = std::fabs(before[size_t(r * cols + j)]);
                if (after[size_t(r * cols + j)] == 0.0f) {
                    largest_pruned = std::max(largest_pruned, w);
                    ++count;
                } else {
                    smallest_kept = std::min(smallest_kept, w);
                }
            }
            REQUIRE(count == std::llround(0.5 * double(cols)));
            REQUIRE(largest_pruned <= smallest_kept);
        }
    }
    // Embeddings, output head and norms are never touched.
    for (const char* name : {"token_embd.weight", "output_norm.weight", "blk.0.attn_norm.weight"}) {
        const auto& a = input->require_tensor(name);
        const auto& b = pruned->require_tensor(name);
        REQUIRE(a.n_bytes == b.n_bytes);
        CHECK(std::memcmp(a.data, b.data, a.n_bytes) == 0);
    }
}

TEST_CASE("sparsity 0 writes the input's tensors unchanged", "[compress][prune]") {
    if (!have_shared(kStories) || !have_shared(kTrain)) return;
    const Calibrated c = calibrate(shared_path(kStories), 64, 2);
    const std::string dir = temp_dir("prune-zero");
    for (compress::PruneMethod method : kMethods)
        for (auto structure : {compress::PruneStructure::Unstructured, compress::PruneStructure::FfnChannels}) {
            INFO(compress::prune_method_name(method) << (structure == compress::PruneStructure::FfnChannels ? " ffn" : ""));
            auto o = options_for(dir + "/z.gguf", method, 0.0, c);
            o.structure = structure;
            auto report = compress::prune_model(c.model->file(), o);
            CHECK(report.pruned == 0);
            auto out = gguf::GgufFile::open(dir + "/z.gguf");
            CHECK(same_tensors(c.model->file(), *out));
            CHECK(out->get_int("llama.feed_forward_length") == 172);
        }
}

TEST_CASE("structured pruning shrinks the file, and the result loads and evaluates", "[compress][prune]") {
    if (!have_shared(kStories) || !have_shared(kTrain) || !have_shared(kHeldout)) return;
    const Calibrated c = calibrate(shared_path(kStories), 64, 4);
    const std::string dir = temp_dir("prune-structured");
    const double baseline = heldout_perplexity(shared_path(kStories), 64, 8);
    for (auto widths : {compress::FfnWidths::Uniform, compress::FfnWidths::PerLayer}) {
        auto o = options_for(dir + "/s.gguf", compress::PruneMethod::Nash, 0.3, c);
        o.structure = compress::PruneStructure::FfnChannels;
        o.widths = widths;
        auto report = compress::prune_model(c.model->file(), o);
        auto out = gguf::GgufFile::open(dir + "/s.gguf");
        CHECK(out->file_size() < c.model->file().file_size());
        CHECK(report.file_bytes == out->file_size());
        int64_t kept = 0;
        for (int64_t w : report.ffn_widths) kept += w;
        // Uniform: round(0.7 * 172) = 120 per layer; per layer: round(0.7 * 5 * 172) in all.
        CHECK(kept == (widths == compress::FfnWidths::Uniform ? 5 * 120 : std::llround(0.7 * 5 * 172)));
        // The widths read back, per layer, and the tensors have them.
        auto model = model::Model::load(dir + "/s.gguf");
        CHECK(model->config().n_ff == report.ffn_widths);
        for (int64_t l = 0; l < 5; ++l) {
            const std::string blk = "blk." + std::to_string(l) + ".";
            CHECK(out->require_tensor(blk + "ffn_gate.weight").dims == std::vector<int64_t>{64, report.ffn_widths[size_t(l)]});
            CHECK(out->require_tensor(blk + "ffn_down.weight").dims == std::vector<int64_t>{report.ffn_widths[size_t(l)], 64});
        }
        if (widths == compress::FfnWidths::PerLayer) {
            // The channels went where they cost least: the layers did not all keep the same number.
            CHECK(std::adjacent_find(report.ffn_widths.begin(), report.ffn_widths.end(),
                                     std::not_equal_to<int64_t>()) != report.ffn_widths.end());
            CHECK(out->require("llama.feed_forward_length").as_array() != nullptr);
        } else {
            // One width for all: stored as a scalar, as llama.cpp's llama architecture needs.
            CHECK(out->get_int("llama.feed_forward_length") == 120);
        }
        const double ppl = heldout_perplexity(dir + "/s.gguf", 64, 8);
        CHECK(std::isfinite(ppl));
        // stories260K's FFN is narrow: 30% of it costs a lot, but the model still works.
        CHECK(ppl > baseline);
        CHECK(ppl < 10 * baseline);
    }
}

TEST_CASE("structured widths stay multiples of 32 (or 256 for K-quants) when the rows are", "[compress][prune]") {
    if (!have_shared(kTiny)) return;
    auto input = gguf::GgufFile::open(shared_path(kTiny));
    const std::string dir = temp_dir("prune-multiple");
    compress::PruneOptions o;
    o.output_path = dir + "/t.gguf";
    o.structure = compress::PruneStructure::FfnChannels;
    o.sparsity = 0.3;
    auto report = compress::prune_model(*input, o);
    CHECK(report.ffn_widths == std::vector<int64_t>(6, 544));  // 0.7 * 768 = 537.6 -> 17 * 32
    o.width_multiple = 256;
    report = compress::prune_model(*input, o);
    CHECK(report.ffn_widths == std::vector<int64_t>(6, 512));
    CHECK(report.file_bytes < input->file_size());
}

TEST_CASE("the Nash pruning is an equilibrium and deterministic", "[compress][prune][nash]") {
    if (!have_shared(kStories) || !have_shared(kTrain)) return;
    const Calibrated c = calibrate(shared_path(kStories), 64, 4);
    const std::string dir = temp_dir("prune-nash");
    for (auto structure : {compress::PruneStructure::FfnChannels, compress::PruneStructure::Unstructured}) {
        for (double cohesion : {0.0, 0.25}) {
            INFO((structure == compress::PruneStructure::FfnChannels ? "ffn" : "unstructured") << " cohesion " << cohesion);
            auto o = options_for(dir + "/a.gguf", compress::PruneMethod::Nash, 0.4, c);
            o.structure = structure;
            o.cohesion = cohesion;
            const auto a = compress::prune_model(c.model->file(), o);
            o.output_path = dir + "/b.gguf";
            const auto b = compress::prune_model(c.model->file(), o);
            REQUIRE(!a.games.empty());
            CHECK(a.converged);
            CHECK(a.largest_unilateral_gain == 0.0);
            for (const auto& g : a.games) {
                CHECK(g.is_equilibrium);
                CHECK(g.bytes <= g.budget_bytes);
                if (cohesion > 0 || structure == compress::PruneStructure::FfnChannels) CHECK(g.edges > 0);
            }
            CHECK(a.lagrange_price > 0);
            CHECK(a.lagrange_price == b.lagrange_price);
            CHECK(read_text_file(dir + "/a.gguf") == read_text_file(dir + "/b.gguf"));
        }
    }
}

TEST_CASE("Nash structured pruning removes less of the FFN output than magnitude", "[compress][prune][nash]") {
    if (!have_shared(kStories) || !have_shared(kTrain)) return;
    const Calibrated c = calibrate(shared_path(kStories), 64, 8);
    const std::string dir = temp_dir("prune-error");
    auto o = options_for(dir + "/e.gguf", compress::PruneMethod::Magnitude, 0.3, c);
    o.structure = compress::PruneStructure::FfnChannels;
    const auto magnitude = compress::prune_model(c.model->file(), o);
    o.method = compress::PruneMethod::Nash;
    const auto nash = compress::prune_model(c.model->file(), o);
    REQUIRE(magnitude.ffn_output_error.size() == 5);
    REQUIRE(nash.ffn_output_error.size() == 5);
    double m = 0, n = 0;
    for (int l = 0; l < 5; ++l) {
        m += magnitude.ffn_output_error[size_t(l)];
        n += nash.ffn_output_error[size_t(l)];
    }
    CHECK(n < m);
}

TEST_CASE("prune refuses bad flags and quantized inputs with one line", "[compress][prune][cli]") {
    if (!have_shared(kStories)) return;
    const std::string in = quoted(shared_path(kStories));
    const std::string dir = temp_dir("prune-cli");
    const std::string out = quoted(dir + "/o.gguf");
    for (const std::string& args :
         {"prune " + in + " " + out + " --sparsity 1.5", "prune " + in + " " + out + " --sparsity 0.3 --method wanda",
          "prune " + in + " " + out + " --method nash", "prune " + in + " " + in + " --sparsity 0.3",
          "prune " + in + " " + out + " --method best", "prune " + in + " " + out + " --structured rows",
          "prune " + quoted(shared_path("models/stories260K/stories260K-Q8_0.gguf")) + " " + out}) {
        INFO(args);
        CliResult r = run_cli(args);
        CHECK(r.exit_code == 1);
        CHECK(count_lines(r.err) == 1);
        CHECK(r.out.empty());
    }
    CliResult q = run_cli("prune " + quoted(shared_path("models/stories260K/stories260K-Q8_0.gguf")) + " " + out);
    CHECK(q.err.find("prune before quantizing") != std::string::npos);
    CHECK(!path_exists(dir + "/o.gguf"));

    CliResult ok = run_cli("prune " + in + " " + out + " --sparsity 0.2 --structured ffn --json");
    INFO(ok.err);
    CHECK(ok.exit_code == 0);
    CHECK(ok.out.find("\"achieved_sparsity\"") != std::string::npos);
    CHECK(path_exists(dir + "/o.gguf"));
}
