#pragma once
// How much the model's loss depends on each weight matrix, measured rather than guessed: the
// KL divergence between the model's next-token distribution and that of the same model with
// one matrix alone quantized to a probe type (Q3_K), over a few calibration chunks. Divided by
// that matrix's output error at the probe type, it is the factor alpha_i that turns output error
// into loss for mixed precision (mixed_precision.h): KL is quadratic in a small perturbation,
// so alpha_i * D_i(t) estimates the KL of type t, and tensors' costs become comparable.
//
// Cost: one forward pass over the chunks per matrix (tinystories-5M, 4 chunks of 256: about
// 20 s on 2 cores). The model runs from a private copy of the input in `scratch_dir`, unlinked
// as soon as it is created (nothing is left behind, even on a crash); each matrix is perturbed
// in place in that copy and restored afterwards. Only float inputs (F32, F16, BF16) qualify.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "compress/calibration.h"
#include "compress/mixed_precision.h"
#include "quant/quant_type.h"

namespace dilmodeli::gguf { class GgufFile; }

namespace dilmodeli::compress {

struct SensitivityOptions {
    int64_t chunks = 4;  // calibration chunks per forward pass
    int64_t ctx = 256;   // tokens per chunk (BOS first, each from an empty cache)
    int threads = 0;
    // Probe types (each tensor uses its candidate nearest in bits to each; duplicates after
    // that are measured once). More probes: alpha follows the type instead of being
    // extrapolated from one, at one forward pass per probe per matrix.
    std::vector<quant::TypeId> probes = {quant::TypeId::Q3_K};
    const ActivationStats* stats = nullptr;     // rounding importance, as for the output
    std::string scratch_dir = ".";              // holds the (unlinked) working copy
    std::function<void(size_t done, size_t total)> progress;  // tensors measured
};

struct SensitivityReport {
    std::map<std::string, TensorSensitivity> tensors;  // by tensor name
    double reference_seconds = 0;
    double seconds = 0;
    int64_t tokens = 0;  // positions averaged over
};

// `tokens` is the calibration text's token ids (BOS first or not: each chunk's first token is
// replaced by `bos_id` when >= 0). Error(Usage) when the text gives less than one chunk or a
// player's tensor is not stored in a float type.
SensitivityReport measure_sensitivity(const gguf::GgufFile& input, const std::vector<int32_t>& tokens, int32_t bos_id,
                                      const std::vector<TensorCandidates>& candidates,
                                      const SensitivityOptions& options);

// Occurrences of each token id among the first `limit` tokens (0: all), vocabulary-sized.
std::vector<double> count_tokens(const std::vector<int32_t>& tokens, int64_t vocabulary, int64_t limit);

}  // namespace dilmodeli::compress
