#include <cstdio>
#include <nlohmann/json.hpp>

#include "runtime/model_loader.h"
#include "command.h"
#include "common/cpu_info.h"
#include "common/error.h"
#include "kernels/matmul.h"
#include "runtime/benchmark.h"
#include "model/model.h"

namespace dilmodeli::app {

void add_bench_command(CLI::App& root, Action& action) {
    struct Options {
        std::string model = kDefaultModelPath;
        runtime::BenchmarkOptions bench;
        std::vector<int> threads = {1};
        std::vector<int> parallel = {1};
        std::string kv_type = model::kv_cache_type_name(runtime::BenchmarkOptions{}.kv_type);
        bool json = false;
        ResidencyFlags residency;
    };
    auto o = std::make_shared<Options>();
    CLI::App* cmd = root.add_subcommand("bench", "Measure prompt-processing and generation speed as llama-bench does");
    cmd->add_option("-m,--model", o->model, "GGUF model file")->capture_default_str();
    cmd->add_option("-p,--n-prompt", o->bench.n_prompt, "Prompt tokens processed in one batch")->capture_default_str();
    cmd->add_option("-n,--n-gen", o->bench.n_gen, "Tokens generated one at a time")->capture_default_str();
    cmd->add_option("-d,--n-depth", o->bench.n_depth, "Tokens of context in the cache (untimed) before each measurement")
        ->capture_default_str();
    cmd->add_option("-r,--repetitions", o->bench.repetitions, "Timed repetitions (medians reported)")->capture_default_str();
    cmd->add_option("-t,--threads", o->threads, "Thread counts to measure, e.g. -t 1,2")->delimiter(',');
    cmd->add_option("--parallel", o->parallel,
                    "Sequences decoded together, e.g. --parallel 1,2,4,8 (aggregate tok/s, as llama-batched-bench)")
        ->delimiter(',');
    cmd->add_option("--kv-type", o->kv_type, "KV cache element type: f32 or f16")->capture_default_str();
    add_residency_flags(cmd, o->residency);
    cmd->add_flag("--json", o->json, "Print one JSON object");
    cmd->callback([o, &action] {
        action = [o] {
            for (int t : o->threads)
                if (t < 1) throw usage_error("--threads values must be at least 1");
            for (int p : o->parallel)
                if (p < 1 || p > 256) throw usage_error("--parallel values must be between 1 and 256");
            o->bench.kv_type = model::parse_kv_cache_type(o->kv_type);
            auto model = runtime::load_model_to_run(o->model, o->residency.residency());
            nlohmann::json runs = nlohmann::json::array();
            for (int t : o->threads)
            for (int p : o->parallel) {
                o->bench.threads = t;
                o->bench.sequences = p;
                auto r = runtime::run_benchmark(*model, o->bench);
                runs.push_back({{"threads", t},
                                {"parallel", p},
                                {"pp_tok_per_s", r.prompt_median},
                                {"tg_tok_per_s", r.gen_median},
                                {"pp_runs", r.prompt_tok_per_s},
                                {"tg_runs", r.gen_tok_per_s},
                                // Each step reads the weights once for all p sequences.
                                {"tg_weight_gb_per_s", r.gen_median / p * double(r.weight_bytes_per_token) / 1e9}});
                if (!o->json) {
                    char line[256];
                    // llama-bench's names: "pp128 @ d512" for a prompt after 512 tokens of context.
                    char depth[32] = "";
                    if (o->bench.n_depth > 0)
                        std::snprintf(depth, sizeof depth, " @ d%lld", static_cast<long long>(o->bench.n_depth));
                    char sequences[32] = "";
                    if (p > 1) std::snprintf(sequences, sizeof sequences, " x %d sequences", p);
                    std::snprintf(line, sizeof line, "threads %d%s: pp%lld%s %.1f tok/s, tg%lld%s %.1f tok/s", t, sequences,
                                  static_cast<long long>(o->bench.n_prompt), depth, r.prompt_median,
                                  static_cast<long long>(o->bench.n_gen), depth, r.gen_median);
                    print_line(line);
                }
            }
            const double peak_rss = peak_rss_mib();
            if (o->json) {
                nlohmann::json j = {{"model", o->model},
                                    {"file_bytes", model->file().file_size()},
                                    {"weight_bytes_per_token", model->weight_bytes_per_token()},
                                    {"n_prompt", o->bench.n_prompt},
                                    {"n_gen", o->bench.n_gen},
                                    {"n_depth", o->bench.n_depth},
                                    {"repetitions", o->bench.repetitions},
                                    {"kv_type", model::kv_cache_type_name(o->bench.kv_type)},
                                    {"peak_rss_mib", peak_rss},
                                    {"isa", kernels::active_isa()},
                                    {"interleaved_matrices", model->interleaved_matrices()},
                                    {"mmap", !model->file().is_copy()},
                                    {"runs", runs}};
                print_line(json_text(j));
            } else {
                char line[160];
                std::snprintf(line, sizeof line, "peak RSS %.1f MiB, kernels %s, %lld matrices interleaved", peak_rss,
                              kernels::active_isa().c_str(), static_cast<long long>(model->interleaved_matrices()));
                print_line(line);
            }
        };
    });
}

}  // namespace dilmodeli::app
