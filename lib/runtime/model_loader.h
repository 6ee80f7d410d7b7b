#pragma once
// Loading a model for running it: the model layer's loader, given the MoE module's layers so that
// mixture-of-experts files load too. Tools load models through here.
#include <memory>
#include <string>

#include "model/model.h"
#include "moe/router.h"

namespace dilmodeli::runtime {

struct ModelLoadOptions {
    Residency residency = Residency::Mapped;
    bool interleave = false;  // model::LoadOptions::interleave
    std::string router = "topk";  // of every MoE layer (moe::make_router's names)
    moe::RouterOptions router_options;
};

std::unique_ptr<model::Model> load_model(const std::string& path, const ModelLoadOptions& options = {});
// For running the model (run, chat, serve, bench, eval, embed, profile): its matrices laid out
// for the kernels, so the tensor bytes in memory are not the file's.
inline std::unique_ptr<model::Model> load_model_to_run(const std::string& path, Residency residency) {
    ModelLoadOptions options;
    options.residency = residency;
    options.interleave = true;
    return load_model(path, options);
}

}  // namespace dilmodeli::runtime
