#include "tokenizer/vocabulary.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "common/error.h"
#include "tokenizer/bpe_flavours.h"

namespace dilmodeli::tokenizer {

namespace {

TokenType token_type_from_stored(int64_t value) {
    // llama.cpp reads unknown values as "undefined" rather than failing; so do we.
    if (value < 0 || value > static_cast<int64_t>(TokenType::Byte)) return TokenType::Undefined;
    return static_cast<TokenType>(value);
}

std::string count_mismatch(const char* key, size_t have, size_t tokens) {
    return std::string("metadata key '") + key + "' has " + std::to_string(have) +
           " entries but '" + keys::kTokens + "' has " + std::to_string(tokens) + " tokens";
}

}  // namespace

Vocabulary Vocabulary::build(TokenizerMetadata m, const std::string& source) {
    Vocabulary v;
    v.model_name_ = m.model;
    if (m.model == "llama") {
        v.kind_ = TokenizerKind::SentencePiece;
        // SentencePiece defaults, as llama.cpp applies them to a "llama" vocabulary.
        v.add_bos_ = true;
        v.add_space_prefix_ = true;
    } else if (m.model == "gpt2" || m.model == "gemma4") {
        v.kind_ = TokenizerKind::Bpe;
        // llama.cpp ignores tokenizer.ggml.pre for a "gemma4" model: its pre-tokenizer is fixed.
        if (m.model == "gemma4") m.pre = "gemma4";
        if (!m.pre) {
            throw input_error(source, std::string("missing metadata key '") + keys::kPre +
                                          "': a gpt2 tokenizer needs its pre-tokenizer type");
        }
        const std::optional<BpeFlavour> flavour = bpe_flavour(*m.pre);
        if (!flavour) {
            throw input_error(source, std::string("metadata key '") + keys::kPre + "' is '" + *m.pre +
                                          "': supported BPE pre-tokenizers are gpt-2, llama-bpe, "
                                          "qwen2, smollm, gemma4 and their aliases");
        }
        v.pre_tokenizer_ = *m.pre;
        v.pre_tokenizer_kind_ = flavour->pre_tokenizer;
        v.clean_up_spaces_ = flavour->clean_up_spaces;
        v.ignore_merges_ = flavour->ignore_merges;
        v.add_bos_ = flavour->add_bos;
        v.byte_encoded_ = !flavour->raw_utf8;
        v.escape_spaces_ = flavour->raw_utf8;
        if (!m.merges) {
            throw input_error(source, std::string("missing metadata key '") + keys::kMerges +
                                          "': a " + m.model + " tokenizer needs its BPE merges");
        }
    } else {
        throw input_error(source, std::string("metadata key '") + keys::kModel + "' is '" +
                                      m.model + "': supported tokenizers are 'llama', 'gpt2' and 'gemma4'");
    }
    if (m.pre && v.pre_tokenizer_.empty()) v.pre_tokenizer_ = *m.pre;

    const size_t n = m.tokens.size();
    if (n == 0) {
        throw input_error(source, std::string("metadata key '") + keys::kTokens + "' is empty");
    }
    if (n > static_cast<size_t>(INT32_MAX)) {
        throw input_error(source, std::string("metadata key '") + keys::kTokens + "' has " +
                                      std::to_string(n) + " tokens, more than ids can number");
    }
    // Longer arrays are tolerated (llama.cpp ignores the excess); shorter ones would leave
    // tokens without a value.
    if (m.scores && m.scores->size() < n) {
        throw input_error(source, count_mismatch(keys::kScores, m.scores->size(), n));
    }
    if (m.token_types && m.token_types->size() < n) {
        throw input_error(source, count_mismatch(keys::kTokenType, m.token_types->size(), n));
    }

    size_t text_bytes = 0;
    for (size_t i = 0; i < n; ++i) text_bytes += m.tokens[i].size();
    v.texts_.reserve(n, text_bytes);
    for (size_t i = 0; i < n; ++i) {
        // An empty text could never be matched and would collide; llama.cpp renames it.
        if (m.tokens[i].empty()) v.texts_.push_back("[EMPTY_" + std::to_string(i) + "]");
        else v.texts_.push_back(m.tokens[i]);
    }
    v.texts_.shrink_to_fit();  // only when renamed texts outgrew the reservation
    v.scores_.assign(n, 0.0f);
    v.types_.assign(n, TokenType::Normal);
    if (m.scores) std::copy(m.scores->begin(), m.scores->begin() + std::ptrdiff_t(n), v.scores_.begin());
    if (m.token_types) {
        for (size_t i = 0; i < n; ++i) v.types_[i] = token_type_from_stored((*m.token_types)[i]);
    }
    v.index_tokens(source);
    if (m.merges && v.kind_ == TokenizerKind::Bpe) v.merge_ranks_ = MergeRanks(*m.merges, v.index_, v.texts_);

    if (m.add_bos) v.add_bos_ = *m.add_bos;
    if (m.add_eos) v.add_eos_ = *m.add_eos;
    // llama.cpp overrides a Gemma 4 file that asks for no BOS: the model needs it.
    if (v.pre_tokenizer_kind_ == PreTokenizer::NewlineRuns && v.kind_ == TokenizerKind::Bpe) {
        v.add_bos_ = true;
    }
    if (m.add_space_prefix) v.add_space_prefix_ = *m.add_space_prefix;
    v.set_special_ids(m, source);
    v.set_space_stripping(m);
    return v;
}

void Vocabulary::index_tokens(const std::string& source) {
    int32_t later = kNoToken;
    const int32_t earlier = index_.build(texts_, later);
    if (earlier != kNoToken) {
        throw input_error(source, std::string("metadata key '") + keys::kTokens + "' holds the token '" +
                                      std::string(text_view(later)) + "' twice (ids " +
                                      std::to_string(earlier) + " and " + std::to_string(later) + ")");
    }
    for (int32_t id = 0; id < size(); ++id) {
        const TokenType t = type(id);
        if (t == TokenType::Control || t == TokenType::UserDefined || t == TokenType::Unknown) {
            special_tokens_.push_back(id);
        }
    }
    std::stable_sort(special_tokens_.begin(), special_tokens_.end(), [&](int32_t a, int32_t b) {
        return text_view(a).size() > text_view(b).size();
    });
}

void Vocabulary::set_special_ids(const TokenizerMetadata& m, const std::string& source) {
    const bool spm = kind_ == TokenizerKind::SentencePiece;
    // A "gemma4" model has no default ids at all: they come from the file or not at all.
    const bool defaults = m.model != "gemma4";
    // `fallback` is the id llama.cpp assumes when a key is absent; a fallback outside the
    // vocabulary just means "none" (a tiny test vocabulary need not have a token 11).
    // llama.cpp's converters write 0xFFFFFFFF (-1) for "no such token", so that value reads as
    // absent too. Any other id outside the vocabulary is an error for the ids that shape the
    // token stream (BOS, EOS, UNK); for PAD and EOT llama.cpp ignores it, and so do we.
    auto resolve = [&](const std::optional<int64_t>& stored, int32_t fallback, const char* key,
                       bool must_be_valid) {
        const int32_t default_id = contains(fallback) ? fallback : kNoToken;
        if (!stored || *stored == -1 || *stored == 0xFFFFFFFFll) return default_id;
        if (*stored >= 0 && *stored < size()) return static_cast<int32_t>(*stored);
        if (!must_be_valid) return default_id;
        throw input_error(source, std::string("metadata key '") + key + "' is " +
                                      std::to_string(*stored) + ", outside the vocabulary of " +
                                      std::to_string(size()) + " tokens");
    };
    bos_id_ = resolve(m.bos_id, !defaults ? kNoToken : spm ? 1 : 11, keys::kBosId, true);
    eos_id_ = resolve(m.eos_id, !defaults ? kNoToken : spm ? 2 : 11, keys::kEosId, true);
    unk_id_ = resolve(m.unk_id, spm && defaults ? 0 : kNoToken, keys::kUnkId, true);
    eot_id_ = resolve(m.eot_id, kNoToken, keys::kEotId, false);
    pad_id_ = resolve(m.pad_id, kNoToken, keys::kPadId, false);

    if (add_bos_ && bos_id_ == kNoToken) {
        throw input_error(source, std::string("metadata key '") + keys::kAddBos +
                                      "' asks for a BOS token but '" + keys::kBosId + "' is not set");
    }
    if (add_eos_ && eos_id_ == kNoToken) {
        throw input_error(source, std::string("metadata key '") + keys::kAddEos +
                                      "' asks for an EOS token but '" + keys::kEosId + "' is not set");
    }
}

void Vocabulary::set_space_stripping(const TokenizerMetadata& m) {
    // llama.cpp (llama_vocab::impl::load) keys this on the lower-cased general.name.
    std::string name = m.general_name.value_or("");
    std::transform(name.begin(), name.end(), name.begin(),
                   [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
    if (name.find("phi-3") == std::string::npos && name.find("phi3") == std::string::npos) return;
    std::vector<int32_t> ids = special_tokens_;
    if (const int32_t eos = find("</s>"); eos != kNoToken) ids.push_back(eos);
    for (const char* kept : {"<unk>", "<s>", "<|endoftext|>"}) {
        ids.erase(std::remove(ids.begin(), ids.end(), find(kept)), ids.end());
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    strip_space_after_ = std::move(ids);
}

bool Vocabulary::strips_space_after(int32_t id) const {
    return std::binary_search(strip_space_after_.begin(), strip_space_after_.end(), id);
}

int32_t Vocabulary::find(std::string_view text) const {
    return index_.find(text, texts_);
}

int32_t Vocabulary::byte_token(uint8_t byte) const {
    static constexpr char kHex[] = "0123456789ABCDEF";
    const char name[6] = {'<', '0', 'x', kHex[byte >> 4], kHex[byte & 15], '>'};
    return find(std::string_view(name, sizeof(name)));
}

int32_t Vocabulary::byte_fallback_token(uint8_t byte) const {
    int32_t id = byte_token(byte);
    if (id != kNoToken) return id;
    const char raw = static_cast<char>(byte);
    id = find(std::string_view(&raw, 1));
    if (id != kNoToken) return id;
    return unk_id_;
}

}  // namespace dilmodeli::tokenizer
