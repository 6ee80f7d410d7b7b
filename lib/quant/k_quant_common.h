#pragma once
// Scale searches shared by the quantizers (legacy and K-quants), and the 6-bit scale packing of
// Q4_K/Q5_K. They follow llama.cpp's reference quantizers step by step, with the same
// floating-point operations in the same order, so that without an importance vector our files
// match llama.cpp's (and so their reconstruction error is no worse).
#include <cmath>
#include <cstdint>
#include <cstring>

namespace dilmodeli::quant::detail {

// Groups whose largest magnitude is below this are stored as zeros.
constexpr float kGroupMaxEps = 1e-15f;

// Round to nearest, ties to even. Adding 1.5 * 2^23 pushes the fraction out of the mantissa and
// lets the FPU do the rounding; the low mantissa bits then hold the integer (offset by 2^22).
// Only valid for |v| < 2^22: callers clamp first.
inline int nearest_int(float v) {
    const float shifted = v + 12582912.0f;
    int32_t bits;
    std::memcpy(&bits, &shifted, sizeof bits);
    return (bits & 0x007fffff) - 0x00400000;
}

// nearest_int(v) limited to [lo, hi]; clamping before rounding gives the same integer as
// rounding first, and keeps huge or non-finite quotients away from nearest_int (NaN -> lo).
inline int nearest_int_clamped(float v, int lo, int hi) {
    if (!(v >= float(lo))) return lo;
    if (v > float(hi)) return hi;
    return nearest_int(v);
}

// The weight of element i in a weighted least-squares fit: the caller's, or x^2 by default,
// which favours the large weights that dominate a dot product.
inline float weight_or_square(const float* weights, const float* x, int i) {
    return weights ? weights[i] : x[i] * x[i];
}

// Symmetric fit x ~ scale * (L - nmax) with L in [0, 2 nmax - 1] (llama.cpp's make_qx_quants in
// its weighted-RMSE mode). The scale is chosen by trying 19 starting points around nmax / max and
// keeping the best weighted least-squares scale; the sign follows the largest-magnitude element
// so that it gets the extra negative level.
inline float fit_symmetric_scale(int n, int nmax, const float* x, int8_t* levels,
                                 const float* weights) {
    float max = 0, amax = 0;
    for (int i = 0; i < n; ++i) {
        const float ax = std::fabs(x[i]);
        if (ax > amax) { amax = ax; max = x[i]; }
    }
    if (amax < kGroupMaxEps) {
        for (int i = 0; i < n; ++i) levels[i] = 0;
        return 0.f;
    }
    float inverse_scale = float(-nmax) / max;
    float sum_lx = 0, sum_l2 = 0;
    for (int i = 0; i < n; ++i) {
        const int l = nearest_int_clamped(inverse_scale * x[i], -nmax, nmax - 1);
        levels[i] = int8_t(l + nmax);
        const float w = weight_or_square(weights, x, i);
        sum_lx += w * x[i] * float(l);
        sum_l2 += w * float(l) * float(l);
    }
    float scale = sum_l2 ? sum_lx / sum_l2 : 0.0f;
    float best = scale * sum_lx;
    for (int step = -9; step <= 9; ++step) {
        if (step == 0) continue;
        inverse_scale = -(float(nmax) + 0.1f * float(step)) / max;
        sum_lx = sum_l2 = 0;
        for (int i = 0; i < n; ++i) {
            const int l = nearest_int_clamped(inverse_scale * x[i], -nmax, nmax - 1);
            const float w = weight_or_square(weights, x, i);
            sum_lx += w * x[i] * float(l);
            sum_l2 += w * float(l) * float(l);
        }
        // Maximizing sum_lx^2 / sum_l2 minimizes the weighted error at the optimal scale.
        if (sum_l2 > 0 && sum_lx * sum_lx > best * sum_l2) {
            for (int i = 0; i < n; ++i)
                levels[i] = int8_t(nmax + nearest_int_clamped(inverse_scale * x[i], -nmax, nmax - 1));
            scale = sum_lx / sum_l2;
            best = scale * sum_lx;
        }
    }
    return scale;
}

// Symmetric fit for Q3_K (llama.cpp's make_q3_quants with RMSE refinement): start from
// nmax / max, then move single elements to the level that the leave-one-out optimal scale would
// give them, as long as that improves the x^2-weighted fit. L in [0, 2 nmax - 1].
inline float fit_symmetric_scale_by_moves(int n, int nmax, const float* x, int8_t* levels) {
    float max = 0, amax = 0;
    for (int i = 0; i < n; ++i) {
        const float ax = std::fabs(x[i]);
        if (ax > amax) { amax = ax; max = x[i]; }
    }
    if (amax < kGroupMaxEps) {
        for (int i = 0; i < n; ++i) levels[i] = 0;
        return 0.f;
    }
    const float inverse_scale = float(-nmax) / max;
    float sum_lx = 0, sum_l2 = 0;
    for (int i = 0; i < n; ++i) {
        const int l = nearest_int_clamped(inverse_scale * x[i], -nmax, nmax - 1);
        levels[i] = int8_t(l);
        const float w = x[i] * x[i];
        sum_lx += w * x[i] * float(l);
        sum_l2 += w * float(l) * float(l);
    }
    for (int pass = 0; pass < 5; ++pass) {
        int changed = 0;
        for (int i = 0; i < n; ++i) {
            const float w = x[i] * x[i];
            float lx = sum_lx - w * x[i] * float(levels[i]);
            if (lx > 0) {
                float l2 = sum_l2 - w * float(levels[i]) * float(levels[i]);
                const int moved = nearest_int_clamped(x[i] * l2 / lx, -nmax, nmax - 1);
                if (moved != levels[i]) {
                    lx += w * x[i] * float(moved);
                    l2 += w * float(moved) * float(moved);
                    if (l2 > 0 && lx * lx * sum_l2 > sum_lx * sum_lx * l2) {
                        levels[i] = int8_t(moved);
                        sum_lx = lx;
                        sum_l2 = l2;
                        ++changed;
                    }
                }
            }
        }
        if (!changed) break;
    }
    for (int i = 0; i < n; ++i) levels[i] = int8_t(levels[i] + nmax);
    return sum_l2 > 0.0f ? sum_lx / sum_l2 : 0.0f;
}

// Asymmetric fit x ~ scale * L - offset with L in [0, nmax] and offset >= 0 (llama.cpp's
// make_qkx2_quants). Starts from the min-max grid, then tries nstep + 1 grid densities
// (nmax + rmin + rdelta * step levels over the current range), solving the weighted 2-parameter
// least squares for each and keeping the lowest weighted error (absolute or squared). The
// offset is returned through `offset` as a non-negative number. n <= 32.
inline float fit_scale_and_offset(int n, int nmax, const float* x, const float* weights,
                                  uint8_t* levels, float* offset, float rmin, float rdelta,
                                  int nstep, bool absolute_error) {
    uint8_t trial[32];
    float min = x[0], max = x[0];
    float sum_w = weights[0];
    float sum_x = sum_w * x[0];
    for (int i = 1; i < n; ++i) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        const float w = weights[i];
        sum_w += w;
        sum_x += w * x[i];
    }
    // The offset only ever shifts down: a group of positive numbers still starts at zero.
    if (min > 0) min = 0;
    if (max == min) {
        for (int i = 0; i < n; ++i) levels[i] = 0;
        *offset = -min;
        return 0.f;
    }
    auto error_of = [absolute_error](float diff) { return absolute_error ? std::fabs(diff) : diff * diff; };

    float inverse_scale = float(nmax) / (max - min);
    float scale = 1 / inverse_scale;
    float best_error = 0;
    for (int i = 0; i < n; ++i) {
        levels[i] = uint8_t(nearest_int_clamped(inverse_scale * (x[i] - min), 0, nmax));
        best_error += weights[i] * error_of(scale * float(levels[i]) + min - x[i]);
    }
    if (nstep < 1) {
        *offset = -min;
        return scale;
    }
    for (int step = 0; step <= nstep; ++step) {
        // Note: min (and so the range) moves as better fits are found, as in llama.cpp.
        inverse_scale = (rmin + rdelta * float(step) + float(nmax)) / (max - min);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; ++i) {
            const int l = nearest_int_clamped(inverse_scale * (x[i] - min), 0, nmax);
            trial[i] = uint8_t(l);
            const float w = weights[i];
            sum_l += w * float(l);
            sum_l2 += w * float(l) * float(l);
            sum_xl += w * float(l) * x[i];
        }
        const float determinant = sum_w * sum_l2 - sum_l * sum_l;
        if (determinant > 0) {
            float trial_scale = (sum_w * sum_xl - sum_x * sum_l) / determinant;
            float trial_min = (sum_l2 * sum_x - sum_l * sum_xl) / determinant;
            if (trial_min > 0) {
                trial_min = 0;
                trial_scale = sum_xl / sum_l2;
            }
            float trial_error = 0;
            for (int i = 0; i < n; ++i)
                trial_error += weights[i] * error_of(trial_scale * float(trial[i]) + trial_min - x[i]);
            if (trial_error < best_error) {
                std::memcpy(levels, trial, size_t(n));
                best_error = trial_error;
                scale = trial_scale;
                min = trial_min;
            }
        }
    }
    *offset = -min;
    return scale;
}

// Fit of non-negative numbers (the sub-block scales or offsets of a super-block) as
// scale * L, L in [0, nmax], weighted by `weights` (llama.cpp's make_qp_quants): a small search
// over the grid density, then single-element moves as in fit_symmetric_scale_by_moves.
inline float fit_nonnegative_scale(int n, int nmax, const float* x, uint8_t* levels,
                                   const float* weights) {
    float max = 0;
    for (int i = 0; i < n; ++i) max = std::fmax(max, x[i]);
    if (max < kGroupMaxEps) {
        for (int i = 0; i < n; ++i) levels[i] = 0;
        return 0.f;
    }
    float inverse_scale = float(nmax) / max;
    float best_error = 0;
    {
        const float scale = 1 / inverse_scale;
        for (int i = 0; i < n; ++i) {
            levels[i] = uint8_t(nearest_int_clamped(inverse_scale * x[i], 0, nmax));
            const float diff = x[i] - scale * float(levels[i]);
            best_error += weights[i] * diff * diff;
        }
    }
    for (int step = -4; step <= 4; ++step) {
        if (step == 0) continue;
        const float trial_inverse = (0.1f * float(step) + float(nmax)) / max;
        const float trial_scale = 1 / trial_inverse;
        float error = 0;
        for (int i = 0; i < n; ++i) {
            const int l = nearest_int_clamped(trial_inverse * x[i], 0, nmax);
            const float diff = x[i] - trial_scale * float(l);
            error += weights[i] * diff * diff;
        }
        if (error < best_error) {
            best_error = error;
            inverse_scale = trial_inverse;
        }
    }
    float sum_lx = 0, sum_l2 = 0;
    for (int i = 0; i < n; ++i) {
        const int l = nearest_int_clamped(inverse_scale * x[i], 0, nmax);
        levels[i] = uint8_t(l);
        sum_lx += weights[i] * x[i] * float(l);
        sum_l2 += weights[i] * float(l) * float(l);
    }
    for (int pass = 0; pass < 5; ++pass) {
        int changed = 0;
        for (int i = 0; i < n; ++i) {
            const float w = weights[i];
            float lx = sum_lx - w * x[i] * float(levels[i]);
            float l2 = sum_l2 - w * float(levels[i]) * float(levels[i]);
            if (lx > 0 && l2 > 0) {
                const int moved = nearest_int_clamped(x[i] * l2 / lx, 0, nmax);
                if (moved != levels[i]) {
                    lx += w * x[i] * float(moved);
                    l2 += w * float(moved) * float(moved);
                    if (lx * lx * sum_l2 > sum_lx * sum_lx * l2) {
                        levels[i] = uint8_t(moved);
                        sum_lx = lx;
                        sum_l2 = l2;
                        ++changed;
                    }
                }
            }
        }
        if (!changed) break;
    }
    return sum_l2 > 0.0f ? sum_lx / sum_l2 : 0.0f;
}

// Q4_K/Q5_K keep eight 6-bit scales and eight 6-bit mins in 12 bytes: sub-blocks 0-3 use the low
// six bits of bytes 0-3 (scales) and 4-7 (mins); sub-blocks 4-7 use the nibbles of bytes 8-11
// (scale low, min high) plus the top two bits of bytes 0-3 (scales) and 4-7 (mins).
inline void unpack_scale_min_k4(int j, const uint8_t* packed, uint8_t* scale, uint8_t* min) {
    if (j < 4) {
        *scale = packed[j] & 63;
        *min = packed[j + 4] & 63;
    } else {
        *scale = uint8_t((packed[j + 4] & 0x0f) | ((packed[j - 4] >> 6) << 4));
        *min = uint8_t((packed[j + 4] >> 4) | ((packed[j] >> 6) << 4));
    }
}

inline void pack_scales_mins_k4(const uint8_t* scales, const uint8_t* mins, uint8_t* packed) {
    std::memset(packed, 0, 12);
    for (int j = 0; j < 8; ++j) {
        if (j < 4) {
            packed[j] = scales[j];
            packed[j + 4] = mins[j];
        } else {
            packed[j + 4] = uint8_t((scales[j] & 0x0f) | ((mins[j] & 0x0f) << 4));
            packed[j - 4] |= uint8_t((scales[j] >> 4) << 6);
            packed[j] |= uint8_t((mins[j] >> 4) << 6);
        }
    }
}

}  // namespace dilmodeli::quant::detail
