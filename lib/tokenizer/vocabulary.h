#pragma once
// A checked vocabulary: token texts, scores and types, the text -> id index, the special ids
// and the flags that steer encoding. Built once from TokenizerMetadata; every inconsistency
// is an Error(BadInput) that names the offending key, so a bad file fails at load time rather
// than with wrong ids later.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/merge_ranks.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/string_table.h"
#include "tokenizer/token_index.h"
#include "tokenizer/tokenizer_metadata.h"

namespace dilmodeli::tokenizer {

inline constexpr int32_t kNoToken = -1;

// The values of tokenizer.ggml.token_type (llama.cpp's llama_token_type).
enum class TokenType : int32_t {
    Undefined = 0,
    Normal = 1,
    Unknown = 2,
    Control = 3,
    UserDefined = 4,
    Unused = 5,
    Byte = 6,
};

enum class TokenizerKind {
    SentencePiece,  // tokenizer.ggml.model = "llama"
    // Ranked-merge BPE: tokenizer.ggml.model = "gpt2" (byte-level; the pre-tokenizer named by
    // tokenizer.ggml.pre) or "gemma4" (SentencePiece-style, over raw UTF-8).
    Bpe,
};

class Vocabulary {
public:
    // `source` (usually the file path) starts every error message.
    static Vocabulary build(TokenizerMetadata metadata, const std::string& source);

    // Movable but not copyable: copying 150k-260k tokens is never what a caller wants.
    Vocabulary(Vocabulary&&) = default;
    Vocabulary& operator=(Vocabulary&&) = default;
    Vocabulary(const Vocabulary&) = delete;
    Vocabulary& operator=(const Vocabulary&) = delete;

    TokenizerKind kind() const { return kind_; }
    const std::string& model_name() const { return model_name_; }
    const std::string& pre_tokenizer() const { return pre_tokenizer_; }

    int32_t size() const { return static_cast<int32_t>(texts_.size()); }
    bool contains(int32_t id) const { return id >= 0 && id < size(); }
    // The token's text as stored (an empty one renamed "[EMPTY_<id>]", as llama.cpp does).
    std::string_view text_view(int32_t id) const { return texts_[static_cast<size_t>(id)]; }
    std::string text(int32_t id) const { return std::string(text_view(id)); }  // a copy
    float score(int32_t id) const { return scores_[static_cast<size_t>(id)]; }
    TokenType type(int32_t id) const { return types_[static_cast<size_t>(id)]; }

    // Id of the token whose text is exactly `text`, or kNoToken.
    int32_t find(std::string_view text) const;

    // SentencePiece byte-fallback token "<0xNN>" for `byte`; failing that the one-character
    // token, failing that the unknown token (kNoToken when there is none).
    int32_t byte_fallback_token(uint8_t byte) const;
    // The token "<0xNN>" alone, or kNoToken.
    int32_t byte_token(uint8_t byte) const;

    int32_t bos_id() const { return bos_id_; }  // kNoToken when the vocabulary has none
    int32_t eos_id() const { return eos_id_; }
    int32_t eot_id() const { return eot_id_; }
    int32_t unk_id() const { return unk_id_; }
    int32_t pad_id() const { return pad_id_; }

    bool add_bos() const { return add_bos_; }
    bool add_eos() const { return add_eos_; }
    bool add_space_prefix() const { return add_space_prefix_; }
    // llama.cpp's clean_spaces: detokenized BPE text drops the space before . , ! ? and some
    // contractions.
    bool clean_up_spaces() const { return clean_up_spaces_; }

    // BPE only: how text is cut into words, and how words are spelled before merging.
    PreTokenizer pre_tokenizer_kind() const { return pre_tokenizer_kind_; }
    bool byte_encoded() const { return byte_encoded_; }  // GPT-2's byte alphabet
    bool escape_spaces() const { return escape_spaces_; }  // " " -> U+2581 before merging
    bool ignore_merges() const { return ignore_merges_; }
    const MergeRanks& merge_ranks() const { return merge_ranks_; }

    // Ids of control, user-defined and unknown tokens, longest text first: the order in which
    // llama.cpp looks for them in raw text before tokenizing the rest.
    const std::vector<int32_t>& special_tokens_longest_first() const { return special_tokens_; }
    // llama.cpp's RSTRIP attribute: whitespace right after this special token in the text is
    // dropped when the token is matched (Phi-3's control tokens).
    bool strips_space_after(int32_t id) const;

private:
    Vocabulary() = default;
    void index_tokens(const std::string& source);
    void set_special_ids(const TokenizerMetadata& m, const std::string& source);
    void set_space_stripping(const TokenizerMetadata& m);

    TokenizerKind kind_ = TokenizerKind::SentencePiece;
    std::string model_name_;
    std::string pre_tokenizer_;
    StringTable texts_;
    std::vector<float> scores_;
    std::vector<TokenType> types_;
    TokenIndex index_;
    MergeRanks merge_ranks_;
    PreTokenizer pre_tokenizer_kind_ = PreTokenizer::Gpt2;
    bool byte_encoded_ = true;
    bool escape_spaces_ = false;
    bool ignore_merges_ = false;
    std::vector<int32_t> special_tokens_;
    std::vector<int32_t> strip_space_after_;  // sorted ids

    int32_t bos_id_ = kNoToken;
    int32_t eos_id_ = kNoToken;
    int32_t eot_id_ = kNoToken;
    int32_t unk_id_ = kNoToken;
    int32_t pad_id_ = kNoToken;
    bool add_bos_ = false;
    bool add_eos_ = false;
    bool add_space_prefix_ = false;
    bool clean_up_spaces_ = false;
};

}  // namespace dilmodeli::tokenizer
