#pragma once
// The reports of `quantize` and `prune`: one JSON object, or a table for people.
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "compress/pipeline.h"

namespace dilmodeli::compress {

nlohmann::json quantize_json(const QuantizeResult& result);
std::string quantize_text(const QuantizeResult& result);

// `method` and `structure` as the user named them.
nlohmann::json prune_json(const PruneReport& report, const std::string& method, const std::string& structure);
std::string prune_text(const PruneReport& report);

}  // namespace dilmodeli::compress
