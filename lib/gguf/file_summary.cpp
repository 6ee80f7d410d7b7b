#include "gguf/file_summary.h"

#include <cstdio>
#include <map>
#include <sstream>

#include "gguf/gguf_file.h"

namespace dilmodeli::gguf {
namespace {

nlohmann::json to_json(const Value& v) {
    if (auto s = v.as_string()) return *s;
    if (v.type() == ValueType::Bool) return std::get<bool>(v.data);
    if (v.type() == ValueType::F32 || v.type() == ValueType::F64) return *v.as_double();
    if (v.type() == ValueType::U64) return std::get<uint64_t>(v.data);
    if (auto i = v.as_int()) return *i;
    const Array* a = v.as_array();
    nlohmann::json out = nlohmann::json::array();
    for (size_t i = 0; i < a->size(); ++i) out.push_back(to_json(a->at(i)));
    return out;
}

bool starts_with(const std::string& s, const std::string& prefix) {
    return s.compare(0, prefix.size(), prefix) == 0;
}

std::string human_bytes(double bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024 && u < 4) {
        bytes /= 1024;
        ++u;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.2f %s", bytes, units[u]);
    return buf;
}

}  // namespace

nlohmann::json summarize(const GgufFile& file, bool with_tensors) {
    nlohmann::json s;
    const std::string arch = file.get_string_or("general.architecture", "");
    s["file"] = file.path();
    s["file_bytes"] = file.file_size();
    s["gguf_version"] = file.version();
    s["alignment"] = file.alignment();
    s["architecture"] = arch;
    s["name"] = file.get_string_or("general.name", "");
    s["metadata_count"] = file.metadata().size();

    nlohmann::json hparams = nlohmann::json::object();
    nlohmann::json general = nlohmann::json::object();
    for (const KeyValue& kv : file.metadata()) {
        if (!arch.empty() && starts_with(kv.key, arch + "."))
            hparams[kv.key.substr(arch.size() + 1)] = to_json(kv.value);
        else if (starts_with(kv.key, "general.") && !kv.value.as_array())
            general[kv.key.substr(8)] = to_json(kv.value);
    }
    s["hyperparameters"] = hparams;
    s["general"] = general;

    nlohmann::json tok = nlohmann::json::object();
    if (file.has("tokenizer.ggml.model")) {
        tok["model"] = file.get_string("tokenizer.ggml.model");
        if (const Value* tokens = file.find("tokenizer.ggml.tokens"))
            if (const Array* a = tokens->as_array()) tok["vocab_size"] = a->size();
        if (const Value* merges = file.find("tokenizer.ggml.merges"))
            if (const Array* a = merges->as_array()) tok["merges"] = a->size();
        for (const char* key : {"bos_token_id", "eos_token_id", "unknown_token_id",
                                "padding_token_id", "add_bos_token", "add_eos_token", "pre"}) {
            if (const Value* v = file.find(std::string("tokenizer.ggml.") + key)) tok[key] = to_json(*v);
        }
    }
    s["tokenizer"] = tok;

    uint64_t tensor_bytes = 0;
    int64_t params = 0;
    std::map<std::string, int> by_type;
    nlohmann::json tensors = nlohmann::json::array();
    for (const TensorInfo& t : file.tensors()) {
        tensor_bytes += t.n_bytes;
        params += t.n_elements();
        by_type[t.type_info().name]++;
        if (with_tensors)
            tensors.push_back({{"name", t.name}, {"shape", t.dims}, {"type", t.type_info().name},
                               {"bytes", t.n_bytes}, {"offset", t.offset}});
    }
    s["tensor_count"] = file.tensors().size();
    s["tensor_bytes"] = tensor_bytes;
    s["parameters"] = params;
    s["bits_per_weight"] = params ? 8.0 * double(tensor_bytes) / double(params) : 0.0;
    s["tensor_types"] = by_type;
    if (with_tensors) s["tensors"] = tensors;
    return s;
}

std::string format_summary(const nlohmann::json& s) {
    std::ostringstream out;
    char line[512];
    out << "file:          " << s["file"].get<std::string>() << " ("
        << human_bytes(s["file_bytes"].get<double>()) << ", GGUF v" << s["gguf_version"] << ")\n";
    out << "architecture:  " << (s["architecture"].get<std::string>().empty() ? "(none)" : s["architecture"].get<std::string>());
    if (!s["name"].get<std::string>().empty()) out << "  name: " << s["name"].get<std::string>();
    out << "\n";
    if (!s["hyperparameters"].empty()) {
        out << "hyper-parameters:\n";
        // A foreign file's strings need not be UTF-8: U+FFFD for bad bytes rather than a throw.
        for (auto& [k, v] : s["hyperparameters"].items())
            out << "  " << k << " = " << v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    }
    const auto& tok = s["tokenizer"];
    if (!tok.empty()) {
        out << "tokenizer:     " << tok.value("model", std::string("?"));
        if (tok.contains("vocab_size")) out << ", " << tok["vocab_size"] << " tokens";
        if (tok.contains("merges")) out << ", " << tok["merges"] << " merges";
        for (const char* key : {"bos_token_id", "eos_token_id", "unknown_token_id"})
            if (tok.contains(key)) out << ", " << key << " " << tok[key];
        out << "\n";
    }
    if (s.contains("tensors")) {
        std::snprintf(line, sizeof line, "%-40s %-24s %-8s %12s\n", "tensor", "shape", "type", "bytes");
        out << line;
        for (const auto& t : s["tensors"]) {
            std::string shape = t["shape"].dump();
            std::snprintf(line, sizeof line, "%-40s %-24s %-8s %12llu\n", t["name"].get<std::string>().c_str(),
                          shape.c_str(), t["type"].get<std::string>().c_str(),
                          static_cast<unsigned long long>(t["bytes"].get<uint64_t>()));
            out << line;
        }
    }
    out << "tensors:       " << s["tensor_count"] << " (";
    bool first = true;
    for (auto& [type, n] : s["tensor_types"].items()) {
        out << (first ? "" : ", ") << n << " " << type;
        first = false;
    }
    out << ")\n";
    std::snprintf(line, sizeof line, "parameters:    %lld (%.3f M), %.2f bits per weight, %s of tensor data\n",
                  static_cast<long long>(s["parameters"].get<int64_t>()),
                  s["parameters"].get<double>() / 1e6, s["bits_per_weight"].get<double>(),
                  human_bytes(s["tensor_bytes"].get<double>()).c_str());
    out << line;
    std::string text = out.str();
    text.pop_back();  // the caller ends the line
    return text;
}

}  // namespace dilmodeli::gguf
