#pragma once
// Re-encodes every weight matrix of a GGUF model in a chosen type (one type for all, or one per
// tensor from a plan), streaming the output so that a model never sits twice in memory.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "quant/quant_type.h"

namespace dilmodeli::gguf { class GgufFile; }

namespace dilmodeli::compress {

struct TensorChoice {
    std::string name;
    quant::TypeId type;
    std::string note;  // why it differs from what was asked (fallback, kept float, ...)
};

// llama.cpp's choice for a whole-model `type`: norms and other 1-D tensors unchanged,
// output.weight as output_type_for(type) unless `uniform_output`, fallbacks for rows that fit
// no block of the wanted type.
std::vector<TensorChoice> plan_uniform(const gguf::GgufFile& file, quant::TypeId type, bool uniform_output = false);

struct TensorReport {
    std::string name;
    std::vector<int64_t> shape;
    std::string from_type, to_type, note;
    uint64_t bytes = 0;
    double bits_per_weight = 0;
    double relative_rms_error = 0;  // ||dequant(q(w)) - w|| / ||w|| against the input's values
};

struct QuantizeReport {
    std::vector<TensorReport> tensors;
    uint64_t file_bytes = 0;
    int64_t parameters = 0;
    uint64_t tensor_bytes = 0;
    double bits_per_weight = 0;  // tensor bytes x 8 / parameters
    double seconds = 0;
};

struct QuantizeJob {
    std::string output_path;
    std::vector<TensorChoice> plan;  // one entry per tensor of the input, in file order
    // Per-column activation energy, by tensor name, to weight the rounding (null: none).
    const std::map<std::string, std::vector<float>>* importance = nullptr;
    uint32_t file_type = 0;  // general.file_type to record
    std::function<void(size_t done, size_t total)> progress;
};

// Writes the output (temporary file renamed on success); the input is never overwritten.
QuantizeReport quantize_model(const gguf::GgufFile& input, const QuantizeJob& job);

// Relative RMS error of `type` on one tensor, without writing anything (for planners).
double measure_error(const gguf::GgufFile& input, const std::string& tensor, quant::TypeId type,
                     const std::vector<float>* importance = nullptr);

}  // namespace dilmodeli::compress
