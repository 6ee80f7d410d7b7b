#pragma once
// Byte-level BPE as GPT-2 (and llama.cpp's "gpt2" vocabularies) do it: split the text into
// words with the GPT-2 pre-tokenizer, spell each word's bytes with the byte <-> unicode
// mapping, then repeatedly merge the adjacent pair with the lowest merge rank (its position in
// tokenizer.ggml.merges; ties: leftmost pair first).
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/vocabulary.h"

namespace dilmodeli::tokenizer {

class BpeTokenizer {
public:
    // `merges` as stored: "left right", one pair per entry, most important first.
    explicit BpeTokenizer(const std::vector<std::string>& merges);

    // Appends the ids of `text` (raw UTF-8) to `out`.
    void encode(const Vocabulary& vocab, std::string_view text, std::vector<int32_t>& out) const;

    // Rank of merging `left` with `right`, or -1 when the pair is not a merge.
    int rank(std::string_view left, std::string_view right) const;

private:
    void encode_word(const Vocabulary& vocab, const std::string& word,
                     std::vector<int32_t>& out) const;

    // Keyed by "left right": symbols never contain a raw space (the byte mapping turns spaces
    // into "Ġ"), so the joined form is unambiguous.
    std::unordered_map<std::string, int> ranks_;
};

}  // namespace dilmodeli::tokenizer
