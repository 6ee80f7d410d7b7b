#pragma once
// Text <-> token ids, exactly as llama.cpp computes them for the same GGUF vocabulary:
// SentencePiece ("llama"), GPT-2-style byte-level BPE ("gpt2": GPT-2, Llama 3, Qwen2, SmolLM
// pre-tokenizers) and Gemma 4's SentencePiece-style BPE ("gemma4") models.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/string_table.h"
#include "tokenizer/tokenizer_metadata.h"
#include "tokenizer/vocabulary.h"

namespace dilmodeli::gguf {
class GgufFile;
}

namespace dilmodeli::tokenizer {

class Tokenizer {
public:
    // Throws Error(BadInput), naming the key, for missing or inconsistent tokenizer metadata.
    static std::unique_ptr<Tokenizer> from_gguf(const gguf::GgufFile& file);
    // `source` names the origin in error messages (a path, or a description in tests).
    static std::unique_ptr<Tokenizer> from_metadata(TokenizerMetadata metadata,
                                                    const std::string& source);
    ~Tokenizer();

    // llama_tokenize(text, add_special = add_bos, parse_special): with add_bos, BOS is put in
    // front when the vocabulary wants one (add_bos_default()) and EOS at the end when it asks
    // for that (tokenizer.ggml.add_eos_token). SentencePiece adds its dummy space prefix to
    // the text (and to any text right after a special token). With parse_special, control
    // tokens written in the text ("</s>") become their ids; user-defined ones always do.
    std::vector<int32_t> encode(std::string_view text, bool add_bos,
                                bool parse_special = false) const;

    // The bytes `id` stands for: SentencePiece "▁" -> " " and <0xNN> -> that byte; GPT-2 byte
    // characters -> their bytes. Control, unknown and unused tokens give "". A piece may be
    // part of a UTF-8 character (byte tokens); TokenStreamer reassembles those.
    // Throws Error(BadInput) for an id outside the vocabulary.
    std::string_view token_to_piece(int32_t id) const;

    // llama_detokenize(ids, remove_special = false, unparse_special = false): the pieces
    // concatenated, except that when the vocabulary adds a space prefix, the first token's
    // piece loses one leading space. The first token is usually BOS, whose piece is empty: so
    // decode(encode(s, true)) is " " + s for SentencePiece and decode(encode(s, false)) is s.
    // GPT-2 vocabularies then get their tokenization spaces cleaned up (see space_cleanup.h).
    std::string decode(const std::vector<int32_t>& ids) const;

    int32_t bos_id() const { return vocab_.bos_id(); }  // -1 (kNoToken) when there is none
    int32_t eos_id() const { return vocab_.eos_id(); }
    int32_t vocab_size() const { return vocab_.size(); }
    std::string model_kind() const { return vocab_.model_name(); }  // "llama", "gpt2", "gemma4"
    bool add_bos_default() const { return vocab_.add_bos(); }
    // EOS, or EOT when the vocabulary names one: where generation should stop.
    bool is_end_of_generation(int32_t id) const;

    const Vocabulary& vocabulary() const { return vocab_; }

private:
    explicit Tokenizer(Vocabulary vocab);
    void append_piece(int32_t id);
    void encode_spm(std::string_view text, bool add_special, bool parse_special,
                    std::vector<int32_t>& out) const;
    void encode_bpe(std::string_view text, bool add_special, bool parse_special,
                    std::vector<int32_t>& out) const;

    Vocabulary vocab_;
    // token_to_piece of every id, computed once, end to end in one buffer: one std::string per
    // token would cost 32 bytes each before any text (8 MiB for Gemma 4's 262,144 tokens).
    StringTable pieces_;
};

}  // namespace dilmodeli::tokenizer
