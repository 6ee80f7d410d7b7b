#pragma once
// The tokenizer.* metadata of a GGUF file exactly as stored, before any checking. Keeping the
// raw form separate from Vocabulary lets tests (and other loaders) build a vocabulary from
// values they choose, including broken ones.
//
// The token and merge strings read from a file are not copied: they stay in its parsed metadata
// and are valid while the GgufFile is open. Vocabulary::build copies what it keeps. Copying them
// first cost a third of the load time of a 262k-token vocabulary.
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gguf/value.h"

namespace dilmodeli::gguf {
class GgufFile;
}

namespace dilmodeli::tokenizer {

// Strings by index: a GGUF string array in place (which must outlive the list), or strings of
// the list's own (tests, other loaders).
class StringList {
public:
    StringList() = default;
    StringList(std::initializer_list<std::string> strings) : owned_(strings) {}
    explicit StringList(std::vector<std::string> strings) : owned_(std::move(strings)) {}
    explicit StringList(const gguf::Array& strings) : array_(&strings) {}

    size_t size() const { return array_ ? array_->size() : owned_.size(); }
    bool empty() const { return size() == 0; }
    std::string_view operator[](size_t i) const { return array_ ? array_->string_at(i) : owned_[i]; }

private:
    const gguf::Array* array_ = nullptr;
    std::vector<std::string> owned_;
};

// GGUF keys, spelled once.
namespace keys {
inline constexpr const char* kModel = "tokenizer.ggml.model";
inline constexpr const char* kPre = "tokenizer.ggml.pre";
inline constexpr const char* kTokens = "tokenizer.ggml.tokens";
inline constexpr const char* kScores = "tokenizer.ggml.scores";
inline constexpr const char* kTokenType = "tokenizer.ggml.token_type";
inline constexpr const char* kMerges = "tokenizer.ggml.merges";
inline constexpr const char* kBosId = "tokenizer.ggml.bos_token_id";
inline constexpr const char* kEosId = "tokenizer.ggml.eos_token_id";
inline constexpr const char* kEotId = "tokenizer.ggml.eot_token_id";
inline constexpr const char* kUnkId = "tokenizer.ggml.unknown_token_id";
inline constexpr const char* kPadId = "tokenizer.ggml.padding_token_id";
inline constexpr const char* kAddBos = "tokenizer.ggml.add_bos_token";
inline constexpr const char* kAddEos = "tokenizer.ggml.add_eos_token";
inline constexpr const char* kAddSpacePrefix = "tokenizer.ggml.add_space_prefix";
inline constexpr const char* kGeneralName = "general.name";
}  // namespace keys

struct TokenizerMetadata {
    std::string model;  // "llama" (SentencePiece) or "gpt2" (byte-level BPE)
    std::optional<std::string> pre;
    StringList tokens;
    std::optional<std::vector<float>> scores;
    std::optional<std::vector<int64_t>> token_types;
    std::optional<StringList> merges;
    std::optional<int64_t> bos_id;
    std::optional<int64_t> eos_id;
    std::optional<int64_t> eot_id;
    std::optional<int64_t> unk_id;
    std::optional<int64_t> pad_id;
    std::optional<bool> add_bos;
    std::optional<bool> add_eos;
    std::optional<bool> add_space_prefix;
    // llama.cpp gives some models' special tokens extra attributes by name (Phi-3: spaces after
    // them are dropped), as the GGUF does not store those attributes.
    std::optional<std::string> general_name;
};

// Reads every key above that is present; tokens and merges refer to `file`'s. Throws Error(BadInput) naming the key when
// tokenizer.ggml.model or tokenizer.ggml.tokens is missing or a value has an unusable type.
TokenizerMetadata read_tokenizer_metadata(const gguf::GgufFile& file);

}  // namespace dilmodeli::tokenizer
