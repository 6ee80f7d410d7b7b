#pragma once
// `dilmodeli profile`: runs a prompt and a generation through a model with an op timer and
// counters, probes the machine's caches and bandwidth, and puts the two side by side.
#include <cstdint>
#include <string>

#include "common/mapped_file.h"
#include "model/model.h"
#include "profile/bandwidth_probe.h"
#include "profile/profile_report.h"

namespace dilmodeli::profile {

struct ProfileOptions {
    std::string model_path;
    std::string prompt;        // empty: a built-in paragraph
    int64_t n_prompt = 0;      // > 0: repeat or cut the prompt's tokens to exactly this many
    int64_t n_gen = 32;        // tokens generated one at a time
    int threads = 0;           // 0: physical cores
    int64_t batch = 512;       // prompt tokens per forward step
    std::string kv_type = model::kv_cache_type_name(model::SessionOptions{}.kv_type);
    uint64_t seed = 42;        // sampler
    bool thread_scaling = true;  // also time 1 thread when threads > 1
    Residency residency = Residency::Auto;  // how the model file is held, as `run` holds it
    BandwidthOptions bandwidth;  // its thread counts are set from `threads`

    // Error(Usage) naming the flag.
    void validate() const;
};

// The built-in prompt: a short story paragraph, about 140 tokens with a Llama vocabulary.
const std::string& default_prompt();

// Error(BadInput) for an unusable model file, Error(Usage) for bad options.
ProfileReport run_profile(const ProfileOptions& options);

}  // namespace dilmodeli::profile
