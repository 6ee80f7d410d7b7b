// Presets: the schema's loader, the lookup, and the shipped presets compiled in.
#include "compress/preset.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/error.h"
#include "compress/pruning.h"
#include "compress/mixed_precision.h"

namespace dilmodeli::compress {
namespace {

// configs/presets/*.json, verbatim (tests/compress/presets_test.cpp checks that they agree).
struct BuiltinPreset {
    const char* name;
    const char* text;
};
const BuiltinPreset kBuiltinPresets[] = {
    {"low", R"json({
  "description": "Smallest: 50% of the FFN channels pruned (Nash-swarm), then about 2.5 bits per weight of mixed precision",
  "prune": {"sparsity": 0.5, "method": "nash", "structure": "ffn"},
  "quantize": {"budget_bpw": 2.5, "importance": "loss"}
}
)json"},
    {"balanced", R"json({
  "description": "Balanced: 30% of the FFN channels pruned (Nash-swarm), then about 4.5 bits per weight of mixed precision",
  "prune": {"sparsity": 0.3, "method": "nash", "structure": "ffn"},
  "quantize": {"budget_bpw": 4.5}
}
)json"},
    {"high", R"json({
  "description": "Highest quality: 10% of the FFN channels pruned (Nash-swarm), then about 8.5 bits per weight of mixed precision",
  "prune": {"sparsity": 0.1, "method": "nash", "structure": "ffn"},
  "quantize": {"budget_bpw": 8.5}
}
)json"},
};

bool is_file(const std::string& path) {
    std::ifstream in(path);
    return in.good();
}

}  // namespace

std::vector<std::string> builtin_preset_names() {
    std::vector<std::string> names;
    for (const BuiltinPreset& p : kBuiltinPresets) names.push_back(p.name);
    return names;
}

std::string builtin_preset_text(const std::string& name) {
    for (const BuiltinPreset& p : kBuiltinPresets)
        if (name == p.name) return p.text;
    return "";
}

Preset find_preset(const std::string& name) {
    if (name.empty() || name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") != std::string::npos)
        throw usage_error("--preset '" + name + "' is not a preset name (low, balanced, high)");
    const std::string local = "configs/presets/" + name + ".json";
    if (is_file(local)) return load_preset_file(local);
    const std::string installed_dir = installed_preset_dir();
    const std::string installed = installed_dir + "/" + name + ".json";
    if (!installed_dir.empty() && is_file(installed)) return load_preset_file(installed);
    const std::string text = builtin_preset_text(name);
    if (!text.empty()) return parse_preset(text, "built-in " + name + ".json");
    throw usage_error("no preset '" + name + "' (looked for " + name + ".json in ./configs/presets" +
                      (installed_dir.empty() ? "" : ", " + installed_dir) +
                      " and among the built-in presets; known: low, balanced, high)");
}

std::string installed_preset_dir() {
    std::error_code error;
    const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", error);
    if (error || exe.empty()) return "";
    return (exe.parent_path().parent_path() / "share" / "dilmodeli" / "presets").lexically_normal().string();
}

Preset load_preset_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in.good()) throw usage_error("--preset-file " + path + ": cannot read the file");
    std::stringstream text;
    text << in.rdbuf();
    return parse_preset(text.str(), path);
}

Preset parse_preset(const std::string& json_text, const std::string& path) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(json_text);
    } catch (const nlohmann::json::exception& e) {
        std::string what = e.what();
        for (char& c : what)
            if (c == '\n') c = ' ';
        throw usage_error("preset " + path + ": not valid JSON (" + what + ")");
    }
    auto bad = [&](const std::string& why) { return usage_error("preset " + path + ": " + why); };
    if (!j.is_object()) throw bad("the top level must be an object");
    Preset p;
    p.path = path;
    for (const auto& [key, value] : j.items()) {
        if (key == "description") {
            if (!value.is_string()) throw bad("\"description\" must be a string");
            p.description = value.get<std::string>();
        } else if (key == "prune") {
            if (value.is_null()) continue;
            if (!value.is_object()) throw bad("\"prune\" must be an object");
            p.prune = true;
            for (const auto& [k, v] : value.items()) {
                if (k == "sparsity") {
                    if (!v.is_number() || !(v.get<double>() >= 0 && v.get<double>() < 1))
                        throw bad("\"prune.sparsity\" must be a number in [0, 1)");
                    p.sparsity = v.get<double>();
                } else if (k == "method" || k == "structure") {
                    if (!v.is_string()) throw bad("\"prune." + k + "\" must be a string");
                    (k == "method" ? p.method : p.structure) = v.get<std::string>();
                } else if (k == "width_multiple") {
                    if (!v.is_number_integer() || v.get<int64_t>() < 0)
                        throw bad("\"prune.width_multiple\" must be an integer >= 0");
                    p.width_multiple = v.get<int64_t>();
                } else {
                    throw bad("unknown key \"prune." + k + "\" (sparsity, method, structure, width_multiple)");
                }
            }
            try {
                parse_prune_method(p.method);
                parse_prune_structure(p.structure);
            } catch (const Error& e) {
                throw bad(e.what());
            }
        } else if (key == "quantize") {
            if (!value.is_object()) throw bad("\"quantize\" must be an object");
            for (const auto& [k, v] : value.items()) {
                if (k == "budget_bpw") {
                    if (!v.is_number() || !(v.get<double>() > 0)) throw bad("\"quantize.budget_bpw\" must be > 0");
                    p.budget_bpw = v.get<double>();
                } else if (k == "importance") {
                    if (!v.is_string()) throw bad("\"quantize.importance\" must be a string");
                    try {
                        parse_importance(v.get<std::string>());
                    } catch (const Error& e) {
                        throw bad(e.what());
                    }
                    p.importance = v.get<std::string>();
                } else if (k == "cohesion") {
                    if (!v.is_number() || !(v.get<double>() >= 0)) throw bad("\"quantize.cohesion\" must be >= 0");
                    p.cohesion = v.get<double>();
                } else {
                    throw bad("unknown key \"quantize." + k + "\" (budget_bpw, importance, cohesion)");
                }
            }
        } else {
            throw bad("unknown key \"" + key + "\" (description, prune, quantize)");
        }
    }
    if (!(p.budget_bpw > 0)) throw bad("\"quantize.budget_bpw\" is missing");
    return p;
}

}  // namespace dilmodeli::compress
