#pragma once
// BPE with ranked merges, as llama.cpp runs it on "gpt2" and "gemma4" vocabularies: cut the
// text into words with the vocabulary's pre-tokenizer, spell each word as symbols (GPT-2
// byte-level vocabularies first map every byte to its stand-in character; Gemma 4 works on raw
// UTF-8 with spaces escaped as U+2581), then repeatedly merge the adjacent pair with the lowest
// merge rank (ties: leftmost pair first).
#include <cstdint>
#include <string_view>
#include <vector>

#include "tokenizer/vocabulary.h"

namespace dilmodeli::tokenizer {

// Appends the ids of `text` (raw UTF-8 without special tokens) to `out`.
void bpe_encode(const Vocabulary& vocab, std::string_view text, std::vector<int32_t>& out);

}  // namespace dilmodeli::tokenizer
