#include <cstdio>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <tbb/global_control.h>
#include <unistd.h>

#include "command.h"
#include "common/error.h"
#include "compress/model_quantizer.h"
#include "compress/tensor_roles.h"
#include "gguf/gguf_file.h"

namespace dilmodeli::app {
namespace {

nlohmann::json report_json(const compress::QuantizeReport& r) {
    nlohmann::json tensors = nlohmann::json::array();
    for (const auto& t : r.tensors)
        tensors.push_back({{"name", t.name}, {"shape", t.shape}, {"from", t.from_type}, {"type", t.to_type},
                           {"bytes", t.bytes}, {"bits_per_weight", t.bits_per_weight},
                           {"relative_rms_error", t.relative_rms_error}, {"note", t.note}});
    return {{"file_bytes", r.file_bytes}, {"parameters", r.parameters}, {"tensor_bytes", r.tensor_bytes},
            {"bits_per_weight", r.bits_per_weight}, {"seconds", r.seconds}, {"tensors", tensors}};
}

std::string report_table(const compress::QuantizeReport& r) {
    std::string out;
    char line[512];
    std::snprintf(line, sizeof line, "%-34s %-14s %-7s %-7s %6s %10s  %s\n", "tensor", "shape", "from", "to", "bpw",
                  "rel.error", "note");
    out += line;
    for (const auto& t : r.tensors) {
        std::string shape = nlohmann::json(t.shape).dump();
        std::snprintf(line, sizeof line, "%-34s %-14s %-7s %-7s %6.2f %10.5f  %s\n", t.name.c_str(), shape.c_str(),
                      t.from_type.c_str(), t.to_type.c_str(), t.bits_per_weight, t.relative_rms_error,
                      t.note.c_str());
        out += line;
    }
    std::snprintf(line, sizeof line, "file %llu bytes, %.3f bits per weight over %lld parameters, %.2f s",
                  static_cast<unsigned long long>(r.file_bytes), r.bits_per_weight,
                  static_cast<long long>(r.parameters), r.seconds);
    return out + line;
}

}  // namespace

void add_quantize_command(CLI::App& root, Action& action) {
    struct Options {
        std::string input, output, type;
        bool uniform_output = false;
        int threads = 0;
        bool json = false;
    };
    auto o = std::make_shared<Options>();
    CLI::App* cmd = root.add_subcommand("quantize", "Re-encode a GGUF model's weight matrices in a smaller type");
    cmd->add_option("input", o->input, "GGUF model to read")->required();
    cmd->add_option("output", o->output, "GGUF file to write (never the input)")->required();
    cmd->add_option("--type", o->type,
                    "Q8_0, Q5_1, Q5_0, Q4_1, Q4_0, IQ4_NL, Q6_K, Q5_K, Q4_K, Q3_K, Q2_K, TQ2_0, TQ1_0, F16, BF16, F32")
        ->required();
    cmd->add_flag("--uniform-output", o->uniform_output,
                  "Give output.weight the same type (llama.cpp gives it Q6_K for 2- to 5-bit types)");
    cmd->add_option("-t,--threads", o->threads, "Threads (default: all)");
    cmd->add_flag("--json", o->json, "Print the report as one JSON object");
    cmd->callback([o, &action] {
        action = [o] {
            const quant::TypeInfo& type = quant::type_by_name(o->type);
            if (!type.quantize_row) throw usage_error(std::string("--type ") + type.name + " cannot be produced");
            if (o->threads < 0) throw usage_error("--threads must be positive");
            std::unique_ptr<tbb::global_control> limit;
            if (o->threads > 0)
                limit = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                                              size_t(o->threads));
            auto input = gguf::GgufFile::open(o->input);
            compress::QuantizeJob job;
            job.output_path = o->output;
            job.plan = compress::plan_uniform(*input, type.id, o->uniform_output);
            job.file_type = compress::llama_file_type(type.id);
            const bool terminal = ::isatty(STDERR_FILENO) && spdlog::get_level() <= spdlog::level::info;
            job.progress = [terminal](size_t done, size_t total) {
                if (!terminal) return;
                const int width = 30, filled = int(width * done / total);
                std::fprintf(stderr, "\r[%.*s%*s] %zu/%zu tensors", filled, "##############################",
                             width - filled, "", done, total);
                if (done == total) std::fputc('\n', stderr);
                std::fflush(stderr);
            };
            for (const auto& c : job.plan)
                if (!c.note.empty() && c.note.rfind("kept", 0) != 0) spdlog::debug("{}: {}", c.name, c.note);
            auto report = compress::quantize_model(*input, job);
            print_line(o->json ? report_json(report).dump(2) : report_table(report));
        };
    });
}

}  // namespace dilmodeli::app
