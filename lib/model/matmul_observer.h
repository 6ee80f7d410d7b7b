#pragma once
// A window into the forward pass for calibration: sees the input of every matrix product
// before it happens (activation statistics for importance-weighted quantization and pruning).
#include <cstdint>

#include "kernels/matmul.h"

namespace dilmodeli::model {

class MatmulObserver {
public:
    virtual ~MatmulObserver() = default;
    // x is n_tokens x w.cols, row-major. Identify the weight by w.data (a view into the file).
    virtual void on_matmul_input(const kernels::WeightMatrix& w, const float* x, int64_t n_tokens) = 0;
};

// kernels::matmul, shown to `observer` first when there is one.
inline void observed_matmul(MatmulObserver* observer, const kernels::WeightMatrix& w, const float* x,
                            int64_t n_tokens, float* y) {
    if (observer) observer->on_matmul_input(w, x, n_tokens);
    kernels::matmul(w, x, n_tokens, y);
}

}  // namespace dilmodeli::model
