#include "runtime/model_loader.h"

#include "moe/moe_feed_forward.h"

namespace dilmodeli::runtime {

std::unique_ptr<model::Model> load_model(const std::string& path, const ModelLoadOptions& options) {
    return model::Model::load(
        path, {options.residency, moe::expert_layer_loader(options.router, options.router_options), options.interleave});
}

}  // namespace dilmodeli::runtime
