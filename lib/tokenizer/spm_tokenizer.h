#pragma once
// SentencePiece-style BPE as llama.cpp runs it on a "llama" vocabulary: start from one symbol
// per UTF-8 character, repeatedly merge the adjacent pair whose concatenation is the
// highest-scoring token (ties: leftmost pair first), then emit each final symbol as its token,
// or as byte-fallback tokens <0xNN> when it is not in the vocabulary.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/vocabulary.h"

namespace dilmodeli::tokenizer {

// Appends the ids of `text` to `out`. `text` must already be in SentencePiece form: spaces
// replaced by U+2581 and the dummy prefix added by the caller.
void spm_encode(const Vocabulary& vocab, std::string_view text, std::vector<int32_t>& out);

// " " -> U+2581 ("▁"), the escaping SentencePiece applies before encoding.
std::string escape_spaces(std::string_view text);

}  // namespace dilmodeli::tokenizer
