#include "tokenizer/bpe_flavours.h"

#include <array>

namespace dilmodeli::tokenizer {

namespace {

struct Row {
    std::string_view name;
    BpeFlavour flavour;
};

constexpr BpeFlavour kGpt2{PreTokenizer::Gpt2, true, false, false, false};
constexpr BpeFlavour kLlama3{PreTokenizer::Llama3, true, true, true, false};
constexpr BpeFlavour kQwen2{PreTokenizer::Qwen2, false, false, false, false};
constexpr BpeFlavour kSmollm{PreTokenizer::Smollm, false, false, false, false};
constexpr BpeFlavour kGemma4{PreTokenizer::NewlineRuns, true, false, true, true};

// Names and flags as llama.cpp's llama_vocab::impl::load sets them (llama-vocab.cpp): a name
// shares a row's regex list and differs from it at most in clean_spaces.
constexpr std::array<Row, 32> kRows = {{
    {"gpt-2", kGpt2}, {"phi-2", kGpt2}, {"mpt", kGpt2}, {"olmo", kGpt2}, {"jais", kGpt2},
    {"gigachat", kGpt2}, {"jina-es", kGpt2}, {"jina-de", kGpt2}, {"jina-v2-es", kGpt2},
    {"jina-v2-de", kGpt2},
    {"llama3", kLlama3}, {"llama-v3", kLlama3}, {"llama-bpe", kLlama3}, {"falcon3", kLlama3},
    {"falcon-h1", kLlama3}, {"pixtral", kLlama3}, {"midm-2.0", kLlama3}, {"lfm2", kLlama3},
    {"qwen2", kQwen2}, {"deepseek-r1-qwen", kQwen2}, {"kormo", kQwen2}, {"f2llmv2", kQwen2},
    {"stablelm2", {PreTokenizer::Qwen2, true, false, false, false}},
    {"smollm", kSmollm}, {"command-r", kSmollm},
    {"starcoder", {PreTokenizer::Smollm, true, false, false, false}},
    {"refact", {PreTokenizer::Smollm, true, false, false, false}},
    {"codeshell", {PreTokenizer::Smollm, true, false, false, false}},
    {"exaone", {PreTokenizer::Smollm, true, false, false, false}},
    {"minerva-7b", {PreTokenizer::Smollm, true, false, false, false}},
    {"gemma4", kGemma4}, {"granite-embed-multi-311m", kGemma4},
}};

}  // namespace

std::optional<BpeFlavour> bpe_flavour(std::string_view pre) {
    for (const Row& row : kRows) {
        if (row.name == pre) return row.flavour;
    }
    return std::nullopt;
}

}  // namespace dilmodeli::tokenizer
