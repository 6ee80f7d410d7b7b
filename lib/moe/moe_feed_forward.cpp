#include "moe/moe_feed_forward.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <tbb/parallel_for.h>

#include "common/error.h"
#include "common/thread_scratch.h"
#include "gguf/gguf_file.h"
#include "model/ops.h"
#include "model/weight_binding.h"
#include "moe/swarm_bound.h"

namespace dilmodeli::moe {

namespace {

std::vector<kernels::WeightMatrix> bind_experts(const gguf::GgufFile& file, const std::string& name, int64_t cols,
                                                int64_t rows, int64_t n_experts) {
    const gguf::TensorInfo& t = file.require_tensor(name);
    if (t.dims.size() != 3 || t.dims[0] != cols || t.dims[1] != rows || t.dims[2] != n_experts)
        throw input_error(file.path(), "tensor " + name + " has shape " + t.shape_string() + ", expected [" +
                                           std::to_string(cols) + ", " + std::to_string(rows) + ", " +
                                           std::to_string(n_experts) + "]");
    std::vector<kernels::WeightMatrix> experts;
    for (int64_t e = 0; e < n_experts; ++e) experts.push_back(model::matrix_slice(t, e));
    return experts;
}

}  // namespace

BatchRecord make_batch_record(int64_t layer, const Routing& routing, int64_t n_experts, int64_t swarm_group) {
    const int64_t k = routing.k;
    BatchRecord rec;
    rec.layer = layer;
    rec.n_tokens = routing.n_tokens;
    rec.k = k;
    rec.load.assign(size_t(n_experts), 0);
    std::vector<int32_t> best(static_cast<size_t>(k));
    for (int64_t t = 0; t < routing.n_tokens; ++t) {
        const float* p = routing.probs.data() + t * n_experts;
        top_k_indices(p, n_experts, k, best.data());
        for (int64_t j = 0; j < k; ++j) {
            rec.mass_top_k += p[best[size_t(j)]];
            const int32_t e = routing.expert[size_t(t * k + j)];
            if (e == kDroppedSlot) {
                ++rec.dropped;
            } else {
                rec.mass_kept += p[e];
                ++rec.load[size_t(e)];
            }
        }
    }
    if (swarm_group > 0 && k <= n_experts)
        rec.swarm_min_max_load = swarm_min_max_load(routing.probs.data(), routing.n_tokens, n_experts, k,
                                                    std::clamp(swarm_group, k, n_experts));
    return rec;
}

Combine parse_combine(const std::string& name) {
    if (name == "softmax") return Combine::softmax;
    if (name == "uniform") return Combine::uniform;
    throw usage_error("unknown combine mode '" + name + "' (choose softmax or uniform)");
}

MoeFeedForward::MoeFeedForward(int64_t layer, MoeWeights weights, int64_t experts_used)
    : layer_(layer), w_(std::move(weights)), k_(0), router_(make_router("topk")) {
    if (w_.gate.empty() || w_.gate.size() != w_.up.size() || w_.gate.size() != w_.down.size() ||
        w_.router.rows != int64_t(w_.gate.size()))
        throw usage_error("MoE layer " + std::to_string(layer) + ": router rows and expert counts disagree");
    set_experts_used(experts_used);
}

void MoeFeedForward::set_experts_used(int64_t k) {
    if (k < 1 || k > n_experts())
        throw usage_error("experts used per token must be in 1.." + std::to_string(n_experts()) + ", got " +
                          std::to_string(k));
    k_ = k;
}

uint64_t MoeFeedForward::expert_bytes() const {
    const auto& g = w_.gate.front();
    const auto& u = w_.up.front();
    const auto& d = w_.down.front();
    return uint64_t(g.rows) * g.row_bytes + uint64_t(u.rows) * u.row_bytes + uint64_t(d.rows) * d.row_bytes;
}

uint64_t MoeFeedForward::weight_bytes_per_token() const {
    uint64_t bytes = uint64_t(w_.router.rows) * w_.router.row_bytes + uint64_t(k_) * expert_bytes();
    for (const auto* m : {&w_.shared_gate, &w_.shared_up, &w_.shared_down})
        if (*m) bytes += uint64_t((*m)->rows) * (*m)->row_bytes;
    return bytes;
}

namespace {

// Grouped rows of the routed experts and the shared expert's activations, shared by the MoE
// layers run on a thread (see ThreadScratch).
struct ExpertBuffers {
    std::vector<float> xs, gs, us, ys;  // grouped rows: inputs, gate, up, outputs
    std::vector<float> shared_gate, shared_up, shared_out;
};

template <typename T>
T* at_least(std::vector<T>& v, int64_t n) {
    if (v.size() < size_t(n)) v.resize(size_t(n));
    return v.data();
}

}  // namespace

void MoeFeedForward::forward(const float* x, int64_t n_tokens, float* out, const model::ForwardHooks& hooks,
                             int64_t layer) {
    const int64_t n_exp = n_experts(), embd = n_embd(), k = k_;
    logits_.resize(size_t(n_tokens * n_exp));
    model::observed_matmul(hooks, w_.router, x, n_tokens, logits_.data());

    const double route_start = model::seconds_now();
    router_->route(logits_.data(), n_tokens, n_exp, k, routing_);
    if (combine_ == Combine::uniform) {
        for (size_t j = 0; j < routing_.expert.size(); ++j)
            routing_.weight[j] = routing_.expert[j] == kDroppedSlot ? 0.0f : 1.0f / float(k);
    }
    const double route_seconds = model::seconds_now() - route_start;

    const double expert_start = model::seconds_now();
    execute_experts(x, n_tokens, routing_, out, hooks);
    if (w_.shared_gate) {
        const int64_t sff = w_.shared_gate->rows;
        ThreadScratch<ExpertBuffers> s;
        float* shared_gate = at_least(s->shared_gate, n_tokens * sff);
        float* shared_up = at_least(s->shared_up, n_tokens * sff);
        float* shared_out = at_least(s->shared_out, n_tokens * embd);
        model::observed_matmul(hooks, *w_.shared_gate, x, n_tokens, shared_gate);
        model::observed_matmul(hooks, *w_.shared_up, x, n_tokens, shared_up);
        model::silu_multiply(shared_gate, shared_up, n_tokens * sff);
        model::observed_matmul(hooks, *w_.shared_down, shared_gate, n_tokens, shared_out);
        for (int64_t t = 0; t < n_tokens; ++t) {
            float scale = 1.0f;
            if (w_.shared_gate_inp) {
                double dot = 0;
                for (int64_t i = 0; i < embd; ++i) dot += double(w_.shared_gate_inp[i]) * x[t * embd + i];
                scale = float(1.0 / (1.0 + std::exp(-dot)));
            }
            for (int64_t i = 0; i < embd; ++i) out[t * embd + i] += scale * shared_out[t * embd + i];
        }
    }
    const double expert_seconds = model::seconds_now() - expert_start;
    if (hooks.timer) hooks.timer->on_op("ffn_moe_route", layer, n_tokens, route_seconds);

    if (recording_) {
        BatchRecord rec = make_batch_record(layer_, routing_, n_exp, swarm_group_);
        rec.route_seconds = route_seconds;
        rec.expert_seconds = expert_seconds;
        records_.push_back(std::move(rec));
    }
}

void MoeFeedForward::execute_experts(const float* x, int64_t n_tokens, const Routing& routing, float* out,
                                     const model::ForwardHooks& hooks) {
    const int64_t n_exp = n_experts(), embd = n_embd(), ff = n_ff(), k = routing.k;
    // Group the slots by expert, tokens in increasing order within each expert.
    expert_begin_.assign(size_t(n_exp + 1), 0);
    for (int32_t e : routing.expert)
        if (e != kDroppedSlot) ++expert_begin_[size_t(e) + 1];
    for (int64_t e = 0; e < n_exp; ++e) expert_begin_[size_t(e + 1)] += expert_begin_[size_t(e)];
    const int64_t rows = expert_begin_.back();
    row_token_.resize(size_t(rows));
    slot_row_.assign(size_t(n_tokens * k), -1);
    {
        std::vector<int64_t> next(expert_begin_.begin(), expert_begin_.end() - 1);
        for (int64_t t = 0; t < n_tokens; ++t) {
            for (int64_t j = 0; j < k; ++j) {
                const int32_t e = routing.expert[size_t(t * k + j)];
                if (e == kDroppedSlot) continue;
                const int64_t r = next[size_t(e)]++;
                row_token_[size_t(r)] = int32_t(t);
                slot_row_[size_t(t * k + j)] = r;
            }
        }
    }
    // The caller's thread's buffers: tasks below run on any thread but write disjoint rows.
    ThreadScratch<ExpertBuffers> s;
    float* xs = at_least(s->xs, rows * embd);
    float* gs = at_least(s->gs, rows * ff);
    float* us = at_least(s->us, rows * ff);
    float* ys = at_least(s->ys, rows * embd);
    std::vector<int32_t> active;
    for (int64_t e = 0; e < n_exp; ++e)
        if (expert_begin_[size_t(e + 1)] > expert_begin_[size_t(e)]) active.push_back(int32_t(e));

    // Tasks of at most kTaskRows tokens of one expert: a popular expert is split so that threads
    // finish together, and the split is fixed by the routing alone (results do not depend on it:
    // every row is computed by the same kernels whatever its task).
    constexpr int64_t kTaskRows = 16;
    struct Task {
        int32_t expert;
        int64_t begin, count;
    };
    std::vector<Task> tasks;
    for (int32_t e : active)
        for (int64_t at = expert_begin_[size_t(e)]; at < expert_begin_[size_t(e) + 1]; at += kTaskRows)
            tasks.push_back({e, at, std::min(kTaskRows, expert_begin_[size_t(e) + 1] - at)});
    auto run_task = [&](const Task& task) {
        const int32_t e = task.expert;
        const int64_t begin = task.begin, count = task.count;
        float* xe = xs + begin * embd;
        for (int64_t r = 0; r < count; ++r)
            std::copy_n(x + int64_t(row_token_[size_t(begin + r)]) * embd, embd, xe + r * embd);
        float* ge = gs + begin * ff;
        float* ue = us + begin * ff;
        model::observed_matmul(hooks, w_.gate[size_t(e)], xe, count, ge);
        model::observed_matmul(hooks, w_.up[size_t(e)], xe, count, ue);
        model::silu_multiply(ge, ue, count * ff);
        model::observed_matmul(hooks, w_.down[size_t(e)], ge, count, ys + begin * embd);
    };
    if (hooks.observer || hooks.timer) {
        // Observers and timers expect one call at a time.
        for (const Task& task : tasks) run_task(task);
    } else {
        tbb::parallel_for(size_t(0), tasks.size(), [&](size_t i) { run_task(tasks[i]); });
    }

    // Combine in slot order: the same sums whatever the thread count. Small batches stay on this
    // thread: waking the others costs more than the few multiply-adds.
    auto combine = [&](int64_t t) {
        float* o = out + t * embd;
        std::fill(o, o + embd, 0.0f);
        for (int64_t j = 0; j < k; ++j) {
            const int64_t r = slot_row_[size_t(t * k + j)];
            if (r < 0) continue;
            const float w = routing.weight[size_t(t * k + j)];
            const float* y = ys + r * embd;
            for (int64_t i = 0; i < embd; ++i) o[i] += w * y[i];
        }
    };
    if (n_tokens * k * embd < (int64_t(1) << 18)) {
        for (int64_t t = 0; t < n_tokens; ++t) combine(t);
    } else {
        tbb::parallel_for(int64_t(0), n_tokens, combine);
    }

}

std::unique_ptr<MoeFeedForward> load_moe_feed_forward(const gguf::GgufFile& file, int64_t layer, int64_t n_embd,
                                                      int64_t n_ff) {
    const std::string blk = "blk." + std::to_string(layer) + ".";
    const gguf::TensorInfo& router = file.require_tensor(blk + "ffn_gate_inp.weight");
    if (router.dims.size() != 2 || router.dims[0] != n_embd)
        throw input_error(file.path(), "tensor " + blk + "ffn_gate_inp.weight has shape " + router.shape_string() +
                                           ", expected [" + std::to_string(n_embd) + ", n_expert]");
    const int64_t n_experts = router.dims[1];
    const int64_t declared = file.get_int_or("llama.expert_count", n_experts);
    if (declared != n_experts)
        throw input_error(file.path(), "llama.expert_count is " + std::to_string(declared) + " but " + blk +
                                           "ffn_gate_inp.weight has " + std::to_string(n_experts) + " experts");
    const int64_t used = file.get_int_or("llama.expert_used_count", 2);
    if (used < 1 || used > n_experts)
        throw input_error(file.path(), "llama.expert_used_count is " + std::to_string(used) + ", expected 1.." +
                                           std::to_string(n_experts));
    MoeWeights w;
    w.router = model::bind_matrix(file, blk + "ffn_gate_inp.weight", n_embd, n_experts);
    w.gate = bind_experts(file, blk + "ffn_gate_exps.weight", n_embd, n_ff, n_experts);
    w.up = bind_experts(file, blk + "ffn_up_exps.weight", n_embd, n_ff, n_experts);
    w.down = bind_experts(file, blk + "ffn_down_exps.weight", n_ff, n_embd, n_experts);
    if (const auto* shared = file.find_tensor(blk + "ffn_gate_shexp.weight")) {
        const int64_t sff = shared->dims.size() == 2 ? shared->dims[1] : 0;
        w.shared_gate = model::bind_matrix(file, blk + "ffn_gate_shexp.weight", n_embd, sff);
        w.shared_up = model::bind_matrix(file, blk + "ffn_up_shexp.weight", n_embd, sff);
        w.shared_down = model::bind_matrix(file, blk + "ffn_down_shexp.weight", sff, n_embd);
        if (const auto* gate_inp = file.find_tensor(blk + "ffn_gate_inp_shexp.weight")) {
            if (gate_inp->type != quant::TypeId::F32 || gate_inp->n_elements() != n_embd)
                throw input_error(file.path(), "tensor " + blk + "ffn_gate_inp_shexp.weight must be F32 [" +
                                                   std::to_string(n_embd) + "]");
            w.shared_gate_inp = reinterpret_cast<const float*>(gate_inp->data);
        }
    }
    return std::make_unique<MoeFeedForward>(layer, std::move(w), used);
}

model::ExpertLayerLoader expert_layer_loader(const std::string& router, const RouterOptions& options) {
    make_router(router, options);  // validates the name before any layer is read
    return [router, options](const gguf::GgufFile& file, int64_t layer, int64_t n_embd,
                             int64_t n_ff) -> std::unique_ptr<model::FeedForward> {
        auto moe = load_moe_feed_forward(file, layer, n_embd, n_ff);
        if (router != "topk") moe->set_router(make_router(router, options));
        return moe;
    };
}

std::vector<MoeFeedForward*> moe_layers(model::Model& model) {
    std::vector<MoeFeedForward*> layers;
    for (int64_t l = 0; l < model.config().n_layers; ++l)
        if (auto* moe = dynamic_cast<MoeFeedForward*>(&model.feed_forward(l))) layers.push_back(moe);
    return layers;
}

void use_router(model::Model& model, const std::string& name, const RouterOptions& options) {
    make_router(name, options);  // validates the name even for a dense model
    for (MoeFeedForward* layer : moe_layers(model)) layer->set_router(make_router(name, options));
}

}  // namespace dilmodeli::moe
