#pragma once
// What llama.cpp attaches to a BPE pre-tokenizer name (tokenizer.ggml.pre): the regex family
// and the flags that go with it. One table, so that supporting a new name is one row.
#include <optional>
#include <string_view>

#include "tokenizer/pretokenizer.h"

namespace dilmodeli::tokenizer {

struct BpeFlavour {
    PreTokenizer pre_tokenizer;
    bool clean_up_spaces;  // llama.cpp's clean_spaces, for decoding
    bool ignore_merges;    // a word that is a token is taken whole (Llama 3)
    bool add_bos;          // default of tokenizer.ggml.add_bos_token
    // SentencePiece-style BPE (Gemma 4): merges over raw UTF-8 with spaces written as U+2581,
    // byte tokens spelled <0xNN>; otherwise GPT-2's byte-level alphabet.
    bool raw_utf8;
};

// nullopt for names whose pre-tokenizer is not implemented (they are refused, not guessed).
std::optional<BpeFlavour> bpe_flavour(std::string_view pre);

}  // namespace dilmodeli::tokenizer
