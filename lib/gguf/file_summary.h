#pragma once
// What `dilmodeli inspect` shows: architecture, hyper-parameters, tokenizer, tensors and totals
// of a GGUF file, as JSON (for scripts) or as aligned text (for people).
#include <nlohmann/json.hpp>
#include <string>

namespace dilmodeli::gguf {

class GgufFile;

nlohmann::json summarize(const GgufFile& file, bool with_tensors);
std::string format_summary(const nlohmann::json& summary);

}  // namespace dilmodeli::gguf
