#include "moe/router_fit.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/error.h"
#include "kernels/activation.h"

namespace dilmodeli::moe {

namespace {

// Solves A z = b for each of the `rhs` columns of b (n x rhs, row-major) in place, A symmetric
// positive definite (n x n, row-major, overwritten by its Cholesky factor).
void cholesky_solve(std::vector<double>& a, std::vector<double>& b, int64_t n, int64_t rhs) {
    for (int64_t j = 0; j < n; ++j) {
        double diag = a[size_t(j * n + j)];
        for (int64_t k = 0; k < j; ++k) diag -= a[size_t(j * n + k)] * a[size_t(j * n + k)];
        if (!(diag > 0)) throw usage_error("router fit: the calibration inputs are all zero");
        const double l = std::sqrt(diag);
        a[size_t(j * n + j)] = l;
        for (int64_t i = j + 1; i < n; ++i) {
            double v = a[size_t(i * n + j)];
            for (int64_t k = 0; k < j; ++k) v -= a[size_t(i * n + k)] * a[size_t(j * n + k)];
            a[size_t(i * n + j)] = v / l;
        }
    }
    for (int64_t c = 0; c < rhs; ++c) {
        for (int64_t i = 0; i < n; ++i) {  // L y = b
            double v = b[size_t(i * rhs + c)];
            for (int64_t k = 0; k < i; ++k) v -= a[size_t(i * n + k)] * b[size_t(k * rhs + c)];
            b[size_t(i * rhs + c)] = v / a[size_t(i * n + i)];
        }
        for (int64_t i = n - 1; i >= 0; --i) {  // L^T z = y
            double v = b[size_t(i * rhs + c)];
            for (int64_t k = i + 1; k < n; ++k) v -= a[size_t(k * n + i)] * b[size_t(k * rhs + c)];
            b[size_t(i * rhs + c)] = v / a[size_t(i * n + i)];
        }
    }
}

// The k experts of largest score, ties to the lower index (as the topk router).
std::vector<int64_t> top_indices(const double* score, int64_t experts, int64_t k) {
    std::vector<int64_t> order(static_cast<size_t>(experts));
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int64_t a, int64_t b) {
        return score[a] > score[b] || (score[a] == score[b] && a < b);
    });
    order.resize(size_t(k));
    return order;
}

// Squared error of one token's combination (weights per chosen expert) against the dense sum.
double token_error(const float* outputs, int64_t d, int64_t experts, const std::vector<int64_t>& chosen,
                   const std::vector<double>& weight, double& dense_norm) {
    double err = 0, norm = 0;
    for (int64_t i = 0; i < d; ++i) {
        double dense = 0, moe = 0;
        for (int64_t e = 0; e < experts; ++e) dense += outputs[e * d + i];
        for (size_t j = 0; j < chosen.size(); ++j) moe += weight[j] * outputs[chosen[j] * d + i];
        err += (moe - dense) * (moe - dense);
        norm += dense * dense;
    }
    dense_norm += norm;
    return err;
}

}  // namespace

std::vector<float> ffn_hidden(const kernels::WeightMatrix& gate, const kernels::WeightMatrix& up,
                              const std::vector<float>& x, int64_t n_tokens) {
    std::vector<float> hidden(size_t(n_tokens * gate.rows)), u(hidden.size());
    kernels::matmul(gate, x.data(), n_tokens, hidden.data());
    kernels::matmul(up, x.data(), n_tokens, u.data());
    kernels::silu_multiply(hidden.data(), u.data(), int64_t(hidden.size()));
    return hidden;
}

std::vector<float> expert_outputs(const std::vector<float>& hidden, const std::vector<float>& down, int64_t d,
                                  const std::vector<int32_t>& slots, int64_t experts, int64_t n_tokens) {
    const int64_t ff = int64_t(down.size()) / d, m = int64_t(slots.size()) / experts;
    std::vector<float> out(size_t(n_tokens * experts * d));
    std::vector<float> down_e(size_t(d * m)), h_e(size_t(n_tokens * m)), y(size_t(n_tokens * d));
    for (int64_t e = 0; e < experts; ++e) {
        for (int64_t j = 0; j < m; ++j) {
            const int32_t c = slots[size_t(e * m + j)];
            for (int64_t i = 0; i < d; ++i) down_e[size_t(i * m + j)] = c < 0 ? 0.0f : down[size_t(i * ff + c)];
            for (int64_t t = 0; t < n_tokens; ++t) h_e[size_t(t * m + j)] = c < 0 ? 0.0f : hidden[size_t(t * ff + c)];
        }
        const kernels::WeightMatrix w{quant::TypeId::F32, reinterpret_cast<const uint8_t*>(down_e.data()), d, m,
                                      size_t(m) * sizeof(float)};
        kernels::matmul(w, h_e.data(), n_tokens, y.data());
        for (int64_t t = 0; t < n_tokens; ++t)
            std::copy_n(y.data() + t * d, d, out.data() + (t * experts + e) * d);
    }
    return out;
}

double reconstruction_error(const std::vector<float>& router, const std::vector<float>& x,
                            const std::vector<float>& outputs, int64_t n_tokens, int64_t d, int64_t experts,
                            int64_t top_k) {
    double err = 0, norm = 0;
    std::vector<double> logit(static_cast<size_t>(experts)), weight(static_cast<size_t>(top_k));
    for (int64_t t = 0; t < n_tokens; ++t) {
        const float* xt = x.data() + t * d;
        for (int64_t e = 0; e < experts; ++e) {
            double v = 0;
            for (int64_t i = 0; i < d; ++i) v += double(router[size_t(e * d + i)]) * xt[i];
            logit[size_t(e)] = v;
        }
        const auto chosen = top_indices(logit.data(), experts, top_k);
        // Softmax over all, renormalised over the chosen: only the chosen logits matter.
        double sum = 0;
        for (int64_t j = 0; j < top_k; ++j) {
            weight[size_t(j)] = std::exp(logit[size_t(chosen[size_t(j)])] - logit[size_t(chosen[0])]);
            sum += weight[size_t(j)];
        }
        for (double& w : weight) w = double(top_k) * w / sum;
        err += token_error(outputs.data() + t * experts * d, d, experts, chosen, weight, norm);
    }
    return norm > 0 ? err / norm : 0.0;
}

RouterFit fit_router(const std::vector<float>& x, const std::vector<float>& outputs, int64_t n_tokens, int64_t d,
                     int64_t experts, int64_t top_k) {
    if (n_tokens < 1 || int64_t(x.size()) != n_tokens * d || int64_t(outputs.size()) != n_tokens * experts * d)
        throw usage_error("router fit: inputs and expert outputs disagree in size");
    // Targets: centred log-norms of the experts' contributions.
    std::vector<double> target(size_t(n_tokens * experts));
    std::vector<double> norm(static_cast<size_t>(experts));
    for (int64_t t = 0; t < n_tokens; ++t) {
        double largest = 0;
        for (int64_t e = 0; e < experts; ++e) {
            const float* o = outputs.data() + (t * experts + e) * d;
            double s = 0;
            for (int64_t i = 0; i < d; ++i) s += double(o[i]) * o[i];
            norm[size_t(e)] = std::sqrt(s);
            largest = std::max(largest, norm[size_t(e)]);
        }
        const double floor = 1e-6 * largest + 1e-30;
        double mean = 0;
        for (int64_t e = 0; e < experts; ++e) mean += target[size_t(t * experts + e)] = std::log(norm[size_t(e)] + floor);
        mean /= double(experts);
        for (int64_t e = 0; e < experts; ++e) target[size_t(t * experts + e)] -= mean;
    }
    // Ridge least squares: (X^T X + lambda I) W^T = X^T Y.
    std::vector<double> gram(size_t(d * d), 0.0), rhs(size_t(d * experts), 0.0);
    for (int64_t t = 0; t < n_tokens; ++t) {
        const float* xt = x.data() + t * d;
        for (int64_t i = 0; i < d; ++i) {
            const double xi = xt[i];
            double* row = gram.data() + i * d;
            for (int64_t j = 0; j <= i; ++j) row[j] += xi * xt[j];
            for (int64_t e = 0; e < experts; ++e) rhs[size_t(i * experts + e)] += xi * target[size_t(t * experts + e)];
        }
    }
    double trace = 0;
    for (int64_t i = 0; i < d; ++i) {
        for (int64_t j = 0; j < i; ++j) gram[size_t(j * d + i)] = gram[size_t(i * d + j)];
        trace += gram[size_t(i * d + i)];
    }
    if (!(trace > 0)) throw usage_error("router fit: the calibration inputs are all zero");
    const double ridge = 1e-3 * trace / double(d);
    for (int64_t i = 0; i < d; ++i) gram[size_t(i * d + i)] += ridge;
    cholesky_solve(gram, rhs, d, experts);

    RouterFit fit;
    std::vector<float> base(size_t(experts * d));
    for (int64_t e = 0; e < experts; ++e)
        for (int64_t i = 0; i < d; ++i) base[size_t(e * d + i)] = float(rhs[size_t(i * experts + e)]);
    // Sharpness: the ranking is fixed; pick how unequal the chosen experts' weights are.
    fit.reconstruction_error = -1;
    std::vector<float> scaled(base.size());
    for (double s : {0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0}) {
        for (size_t i = 0; i < base.size(); ++i) scaled[i] = float(s) * base[i];
        const double err = reconstruction_error(scaled, x, outputs, n_tokens, d, experts, top_k);
        if (fit.reconstruction_error < 0 || err < fit.reconstruction_error) {
            fit.reconstruction_error = err;
            fit.sharpness = s;
            fit.weights = scaled;
        }
    }
    // Oracle: the k experts of largest true contribution, each with weight 1.
    double err = 0, dense_norm = 0;
    std::vector<double> ones(static_cast<size_t>(top_k), 1.0);
    for (int64_t t = 0; t < n_tokens; ++t) {
        const auto chosen = top_indices(target.data() + t * experts, experts, top_k);
        err += token_error(outputs.data() + t * experts * d, d, experts, chosen, ones, dense_norm);
    }
    fit.oracle_error = dense_norm > 0 ? err / dense_norm : 0.0;
    return fit;
}

}  // namespace dilmodeli::moe
