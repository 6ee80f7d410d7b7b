#pragma once
// A window into the forward pass for calibration: sees the input of every matrix product
// before it happens (activation statistics for importance-weighted quantization and pruning).
#include <cstdint>
#include <initializer_list>

#include "kernels/matmul.h"

namespace dilmodeli::model {

class MatmulObserver {
public:
    virtual ~MatmulObserver() = default;
    // x is n_tokens x w.cols, row-major. Identify the weight by w.data (a view into the file).
    virtual void on_matmul_input(const kernels::WeightMatrix& w, const float* x, int64_t n_tokens) = 0;
};

// Timing of the forward pass, op by op, for `profile`. Only called when set, so a session
// without a timer pays nothing.
class OpTimer {
public:
    virtual ~OpTimer() = default;
    // One matrix product (identify the weight by w.data).
    virtual void on_matmul(const kernels::WeightMatrix& w, int64_t n_tokens, double seconds) = 0;
    // Any other op: "embedding", "attn_norm", "rope" (with the KV-cache store), "attention", "residual",
    // "ffn_norm", "ffn_act", "output_norm"; layer -1 outside the blocks.
    virtual void on_op(const char* op, int64_t layer, int64_t n_tokens, double seconds) = 0;
};

struct ForwardHooks {
    MatmulObserver* observer = nullptr;
    OpTimer* timer = nullptr;
};

double seconds_now();

// kernels::matmul, shown to the observer first and timed, when there are hooks.
inline void observed_matmul(const ForwardHooks& hooks, const kernels::WeightMatrix& w, const float* x,
                            int64_t n_tokens, float* y) {
    if (hooks.observer) hooks.observer->on_matmul_input(w, x, n_tokens);
    if (!hooks.timer) {
        kernels::matmul(w, x, n_tokens, y);
        return;
    }
    const double start = seconds_now();
    kernels::matmul(w, x, n_tokens, y);
    hooks.timer->on_matmul(w, n_tokens, seconds_now() - start);
}

// kernels::matmul_many (products sharing the input x), shown to the observer first. With a
// timer, the products run and are timed one by one, so that each keeps its row in a profile.
inline void observed_matmuls(const ForwardHooks& hooks, std::initializer_list<kernels::Product> products,
                             const float* x, int64_t n_tokens) {
    if (hooks.timer) {
        for (const kernels::Product& p : products) observed_matmul(hooks, p.w, x, n_tokens, p.y);
        return;
    }
    if (hooks.observer)
        for (const kernels::Product& p : products) hooks.observer->on_matmul_input(p.w, x, n_tokens);
    kernels::matmul_many(products.begin(), int64_t(products.size()), x, n_tokens);
}

// Times a block of work as op `name` when there is a timer.
template <typename Work>
inline void timed_op(const ForwardHooks& hooks, const char* name, int64_t layer, int64_t n_tokens, Work&& work) {
    if (!hooks.timer) {
        work();
        return;
    }
    const double start = seconds_now();
    work();
    hooks.timer->on_op(name, layer, n_tokens, seconds_now() - start);
}

}  // namespace dilmodeli::model
