// The MoE layer against a hand-computed reference, and its independence of the thread count.
#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <tbb/task_arena.h>

#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "common/error.h"
#include "moe/moe_feed_forward.h"
#include "support/shared_data.h"

using namespace dilmodeli;

namespace {

struct TinyMoe {
    int64_t embd, ff, experts, k;
    std::vector<float> router, gate, up, down, shared_gate, shared_up, shared_down;
    std::string path;

    TinyMoe(int64_t embd_, int64_t ff_, int64_t experts_, int64_t k_, bool shared, const std::string& name)
        : embd(embd_), ff(ff_), experts(experts_), k(k_) {
        std::mt19937 rng(42);
        std::normal_distribution<float> n(0.0f, 0.5f);
        auto fill = [&](std::vector<float>& v, int64_t size) {
            v.resize(size_t(size));
            for (float& x : v) x = n(rng);
        };
        fill(router, experts * embd);
        fill(gate, experts * ff * embd);
        fill(up, experts * ff * embd);
        fill(down, experts * embd * ff);
        std::vector<gguf::TensorToWrite> tensors = {
            {"blk.0.ffn_gate_inp.weight", {embd, experts}, quant::TypeId::F32, router.data(), {}},
            {"blk.0.ffn_gate_exps.weight", {embd, ff, experts}, quant::TypeId::F32, gate.data(), {}},
            {"blk.0.ffn_up_exps.weight", {embd, ff, experts}, quant::TypeId::F32, up.data(), {}},
            {"blk.0.ffn_down_exps.weight", {ff, embd, experts}, quant::TypeId::F32, down.data(), {}},
        };
        if (shared) {
            fill(shared_gate, ff * embd);
            fill(shared_up, ff * embd);
            fill(shared_down, embd * ff);
            tensors.push_back({"blk.0.ffn_gate_shexp.weight", {embd, ff}, quant::TypeId::F32, shared_gate.data(), {}});
            tensors.push_back({"blk.0.ffn_up_shexp.weight", {embd, ff}, quant::TypeId::F32, shared_up.data(), {}});
            tensors.push_back({"blk.0.ffn_down_shexp.weight", {ff, embd}, quant::TypeId::F32, shared_down.data(), {}});
        }
        std::vector<gguf::KeyValue> metadata = {
            {"general.architecture", gguf::Value::string("llama")},
            {"llama.expert_count", gguf::Value(uint32_t(experts))},
            {"llama.expert_used_count", gguf::Value(uint32_t(k))},
        };
        path = testing::temp_dir(name) + "/tiny_moe.gguf";
        gguf::write_gguf(path, metadata, tensors);
    }

    // SwiGLU of one expert (or the shared one) in double.
    std::vector<double> expert(const float* g, const float* u, const float* d, const float* x) const {
        std::vector<double> h(static_cast<size_t>(ff)), y(size_t(embd), 0.0);
        for (int64_t c = 0; c < ff; ++c) {
            double a = 0, b = 0;
            for (int64_t i = 0; i < embd; ++i) {
                a += double(g[c * embd + i]) * x[i];
                b += double(u[c * embd + i]) * x[i];
            }
            h[size_t(c)] = a / (1 + std::exp(-a)) * b;
        }
        for (int64_t i = 0; i < embd; ++i)
            for (int64_t c = 0; c < ff; ++c) y[size_t(i)] += double(d[i * ff + c]) * h[size_t(c)];
        return y;
    }

    // Mixtral's gating as llama.cpp computes it: softmax over all logits, top k, renormalised.
    std::vector<double> reference(const float* x) const {
        std::vector<double> logit(static_cast<size_t>(experts)), p(static_cast<size_t>(experts));
        double max = -1e300, sum = 0;
        for (int64_t e = 0; e < experts; ++e) {
            for (int64_t i = 0; i < embd; ++i) logit[size_t(e)] += double(router[size_t(e * embd + i)]) * x[i];
            max = std::max(max, logit[size_t(e)]);
        }
        for (int64_t e = 0; e < experts; ++e) sum += p[size_t(e)] = std::exp(logit[size_t(e)] - max);
        for (double& v : p) v /= sum;
        std::vector<int> order(static_cast<size_t>(experts));
        for (int e = 0; e < experts; ++e) order[size_t(e)] = e;
        std::sort(order.begin(), order.end(), [&](int a, int b) { return p[size_t(a)] > p[size_t(b)]; });
        double kept = 0;
        for (int64_t j = 0; j < k; ++j) kept += p[size_t(order[size_t(j)])];
        std::vector<double> out(size_t(embd), 0.0);
        for (int64_t j = 0; j < k; ++j) {
            const int e = order[size_t(j)];
            const auto y = expert(gate.data() + e * ff * embd, up.data() + e * ff * embd, down.data() + e * embd * ff, x);
            for (int64_t i = 0; i < embd; ++i) out[size_t(i)] += p[size_t(e)] / kept * y[size_t(i)];
        }
        if (!shared_gate.empty()) {
            const auto y = expert(shared_gate.data(), shared_up.data(), shared_down.data(), x);
            for (int64_t i = 0; i < embd; ++i) out[size_t(i)] += y[size_t(i)];
        }
        return out;
    }
};

std::vector<float> random_input(int64_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(0.0f, 1.0f);
    std::vector<float> x(static_cast<size_t>(n));
    for (float& v : x) v = d(rng);
    return x;
}

}  // namespace

TEST_CASE("MoE layer equals Mixtral gating computed by hand", "[moe]") {
    for (bool shared : {false, true}) {
        TinyMoe m(16, 8, 6, 2, shared, shared ? "moe_ref_shared" : "moe_ref");
        auto file = gguf::GgufFile::open(m.path);
        auto layer = moe::load_moe_feed_forward(*file, 0, m.embd, m.ff);
        REQUIRE(layer->n_experts() == 6);
        REQUIRE(layer->experts_used() == 2);
        const int64_t n = 5;
        const auto x = random_input(n * m.embd, 9);
        std::vector<float> out(size_t(n * m.embd));
        layer->forward(x.data(), n, out.data(), {}, 0);
        for (int64_t t = 0; t < n; ++t) {
            const auto ref = m.reference(x.data() + t * m.embd);
            for (int64_t i = 0; i < m.embd; ++i)
                REQUIRE(out[size_t(t * m.embd + i)] == Approx(ref[size_t(i)]).margin(1e-4).epsilon(1e-4));
        }
    }
}

TEST_CASE("MoE layer rejects misshapen expert tensors", "[moe]") {
    TinyMoe m(16, 8, 4, 2, false, "moe_shape");
    auto file = gguf::GgufFile::open(m.path);
    REQUIRE_THROWS_AS(moe::load_moe_feed_forward(*file, 0, m.embd, m.ff + 1), Error);
}

TEST_CASE("MoE layer output does not depend on the thread count", "[moe]") {
    TinyMoe m(64, 48, 8, 2, true, "moe_threads");
    auto file = gguf::GgufFile::open(m.path);
    const int64_t n = 96;
    const auto x = random_input(n * m.embd, 4);
    std::vector<std::vector<float>> outs;
    for (const std::string router : {"topk", "nash"}) {
        for (int threads : {1, 2}) {
            auto layer = moe::load_moe_feed_forward(*file, 0, m.embd, m.ff);
            layer->set_router(moe::make_router(router));
            std::vector<float> out(size_t(n * m.embd));
            tbb::task_arena arena(threads);
            arena.execute([&] { layer->forward(x.data(), n, out.data(), {}, 0); });
            outs.push_back(out);
        }
        REQUIRE(outs[outs.size() - 2] == outs.back());
    }
}
