// A broken file of a new family gives one line naming the file and what is wrong, and exit code 2:
// a missing tensor the family needs, a tensor of the wrong shape, a head count that does not divide.
#include <catch2/catch.hpp>

#include <algorithm>

#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "producers/family_transplant.h"
#include "support/run_cli.h"
#include "support/shared_data.h"

using namespace dilmodeli;
using namespace dilmodeli::testing;

namespace {

// The qwen3 carrying of tinystories-5M, re-written with `edit` applied to its metadata and tensors.
template <typename Edit>
std::string broken_qwen3(const std::string& dir, const std::string& name, Edit edit) {
    const std::string good = dir + "/good.gguf";
    if (!path_exists(good))
        producers::transplant_llama_model(
            {shared_path("models/tinystories-5M/tinystories-5M-F32.gguf"), good, model::Family::Qwen3, 1});
    const auto file = gguf::GgufFile::open(good);
    std::vector<gguf::KeyValue> meta = file->metadata();
    std::vector<gguf::TensorToWrite> tensors = gguf::tensors_as_stored(*file);
    edit(meta, tensors);
    const std::string out = dir + "/" + name + ".gguf";
    gguf::write_gguf(out, meta, tensors);
    return out;
}

void expect_bad_input(const std::string& path, const std::string& needle) {
    const CliResult r = run_cli("eval -m " + quoted(path) + " -f " +
                                quoted(shared_path("data/tinystories/heldout.txt")) + " --chunks 1");
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(count_lines(r.err) == 1);
    CHECK(r.err.find(path) != std::string::npos);
    CHECK(r.err.find(needle) != std::string::npos);
}

}  // namespace

TEST_CASE("a qwen3 file without its Q norm, with a misshapen K norm or a head count that does not divide is refused",
          "[model][families][bad_input]") {
    if (!have_shared("models/tinystories-5M/tinystories-5M-F32.gguf")) return;
    const std::string dir = temp_dir("family-bad-input");
    expect_bad_input(broken_qwen3(dir, "no-q-norm",
                                  [](auto&, auto& tensors) {
                                      tensors.erase(std::remove_if(tensors.begin(), tensors.end(),
                                                                   [](const gguf::TensorToWrite& t) {
                                                                       return t.name == "blk.2.attn_q_norm.weight";
                                                                   }),
                                                    tensors.end());
                                  }),
                     "blk.2.attn_q_norm.weight");
    expect_bad_input(broken_qwen3(dir, "short-k-norm",
                                  [](auto&, auto& tensors) {
                                      for (gguf::TensorToWrite& t : tensors)
                                          if (t.name == "blk.0.attn_k_norm.weight") t.dims = {16};
                                  }),
                     "blk.0.attn_k_norm.weight");
    expect_bad_input(broken_qwen3(dir, "heads",
                                  [](auto& meta, auto&) {
                                      for (gguf::KeyValue& kv : meta)
                                          if (kv.key == "qwen3.attention.head_count_kv") kv.value = gguf::Value(uint32_t(3));
                                  }),
                     "head_count_kv");
}

TEST_CASE("an architecture no family has is refused with the list of supported ones", "[model][families][bad_input]") {
    if (!have_shared("models/tinystories-5M/tinystories-5M-F32.gguf")) return;
    const std::string dir = temp_dir("family-unknown");
    expect_bad_input(broken_qwen3(dir, "mamba",
                                  [](auto& meta, auto&) {
                                      for (gguf::KeyValue& kv : meta)
                                          if (kv.key == "general.architecture") kv.value = gguf::Value::string("mamba");
                                  }),
                     "unsupported architecture 'mamba' (supported: llama, qwen2, qwen3, gemma2, gemma3, phi3)");
}

TEST_CASE("moefy of a non-llama family and structured pruning of fused gate+up are refused in one line",
          "[model][families][bad_input]") {
    if (!have_shared("models/tinystories-5M/tinystories-5M-F32.gguf")) return;
    const std::string dir = temp_dir("family-refusals");
    const std::string source = shared_path("models/tinystories-5M/tinystories-5M-F32.gguf");
    producers::transplant_llama_model({source, dir + "/qwen3.gguf", model::Family::Qwen3, 1});
    producers::transplant_llama_model({source, dir + "/phi3.gguf", model::Family::Phi3, 1});
    const CliResult moefy = run_cli("moefy " + quoted(dir + "/qwen3.gguf") + " " + quoted(dir + "/moe.gguf") +
                                    " --experts 4 --top-k 2");
    CHECK(moefy.exit_code == 1);
    CHECK(count_lines(moefy.err) == 1);
    CHECK(moefy.err.find("qwen3") != std::string::npos);
    const CliResult prune = run_cli("prune " + quoted(dir + "/phi3.gguf") + " " + quoted(dir + "/pruned.gguf") +
                                    " --sparsity 0.3 --structured ffn");
    CHECK(prune.exit_code == 1);
    CHECK(count_lines(prune.err) == 1);
    CHECK(prune.err.find("phi3") != std::string::npos);
    CHECK(!path_exists(dir + "/moe.gguf"));
    CHECK(!path_exists(dir + "/pruned.gguf"));
}
