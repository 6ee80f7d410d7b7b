// Random-weight models of every family: the tensors the family needs, with the shapes its config
// implies, and a forward pass that the model layer accepts. (That llama.cpp loads the same files
// was checked by hand with llama-perplexity; see the closing notes of the model-families issue.)
#include <catch2/catch.hpp>

#include <cmath>

#include "common/error.h"
#include "gguf/gguf_file.h"
#include "model/model.h"
#include "model/tensor_names.h"
#include "producers/synthetic_model.h"
#include "support/shared_data.h"

using namespace dilmodeli;
using namespace dilmodeli::testing;
using model::Family;
using model::TensorRole;

TEST_CASE("synth writes a tiny model of every family that loads and computes finite logits", "[producers][families]") {
    const std::string vocab = "models/tokenizers/ggml-vocab-llama-spm.gguf";
    if (!have_shared(vocab)) return;
    const std::string dir = temp_dir("synth-families");
    for (const model::Architecture& arch : model::architectures()) {
        INFO("family " << arch.name);
        producers::SynthOptions o;
        o.output_path = dir + "/" + arch.name + ".gguf";
        o.vocab_path = shared_path(vocab);
        o.shape = producers::parse_shape("tiny", arch.family);
        o.type = quant::TypeId::Q8_0;
        producers::write_synthetic_model(o);
        const auto m = model::Model::load(o.output_path);
        const model::ModelConfig& c = m->config();
        CHECK(c.architecture == arch.name);
        CHECK(c.n_layers == 6);
        // Qwen3 and Gemma 3 heads are wider than the width over the head count, as in the real models.
        CHECK((c.q_dim() != c.n_embd) == arch.qk_norm);
        const gguf::GgufFile& f = m->file();
        CHECK((f.find_tensor(model::tensor_name(TensorRole::AttnQkv, 0)) != nullptr) == (arch.family == Family::Phi3));
        CHECK((f.find_tensor(model::tensor_name(TensorRole::AttnQBias, 0)) != nullptr) == (arch.family == Family::Qwen2));
        CHECK((f.find_tensor(model::tensor_name(TensorRole::AttnQNorm, 5)) != nullptr) == arch.qk_norm);
        CHECK((f.find_tensor(model::tensor_name(TensorRole::FfnPostNorm, 5)) != nullptr) == arch.post_norms);
        const bool gemma = arch.family == Family::Gemma2 || arch.family == Family::Gemma3;
        CHECK((c.sliding_window > 0) == gemma);
        if (arch.family == Family::Gemma3) {
            CHECK(c.layer_slides == std::vector<bool>{true, true, true, true, true, false});
        }
        model::SessionOptions so;
        so.context = 64;
        so.threads = 1;
        model::Session session(*m, so);
        const std::vector<int32_t> tokens{1, 450, 4996, 17354, 1701, 432, 29879};
        session.decode(tokens.data(), int64_t(tokens.size()), true);
        REQUIRE(session.logits().size() == tokens.size() * size_t(c.n_vocab));
        bool finite = true;
        for (float v : session.logits()) finite = finite && std::isfinite(v);
        CHECK(finite);
    }
}

TEST_CASE("a session without --ctx gets the trained context, at most 4096 tokens", "[producers][model]") {
    const std::string vocab = "models/tokenizers/ggml-vocab-llama-spm.gguf";
    if (!have_shared(vocab)) return;
    const std::string dir = temp_dir("synth-default-context");
    producers::SynthOptions o;
    o.output_path = dir + "/long.gguf";
    o.vocab_path = shared_path(vocab);
    o.shape = producers::parse_shape("tiny", Family::Qwen3);
    o.shape.context = 131072;  // as Llama 3.2's
    producers::write_synthetic_model(o);
    const auto m = model::Model::load(o.output_path);
    REQUIRE(m->config().context_length == 131072);
    model::SessionOptions so;
    so.threads = 1;
    CHECK(model::Session(*m, so).context() == model::kDefaultContext);
    so.context = 8192;
    CHECK(model::Session(*m, so).context() == 8192);
    o.output_path = dir + "/short.gguf";
    o.shape.context = 256;
    producers::write_synthetic_model(o);
    so.context = 0;
    CHECK(model::Session(*model::Model::load(o.output_path), so).context() == 256);
}

TEST_CASE("synth's named shapes carry their family and the real models' dimensions", "[producers][families]") {
    const auto qwen3 = producers::parse_shape("qwen3-0.6b");
    CHECK(qwen3.family == Family::Qwen3);
    CHECK(qwen3.head_dim * qwen3.n_heads == 2048);
    CHECK(qwen3.n_embd == 1024);
    CHECK(qwen3.context == 40960);
    const auto gemma = producers::parse_shape("gemma3-270m");
    CHECK(gemma.family == Family::Gemma3);
    CHECK(gemma.sliding_window == 512);
    CHECK(gemma.tied_output);
    CHECK(producers::parse_shape("phi3-mini").family == Family::Phi3);
    CHECK(producers::parse_shape("llama3.2-1b").rope_freqs);
    CHECK_THROWS_AS(producers::parse_shape("qwen9-1t"), Error);
}
