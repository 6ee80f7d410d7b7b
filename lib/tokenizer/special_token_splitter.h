#pragma once
// Before tokenizing, llama.cpp cuts the raw text at occurrences of special tokens so that,
// say, "<|im_start|>" becomes its own id instead of being spelled out. User-defined tokens are
// always cut out; control and unknown tokens only when the caller asks to parse specials.
#include <cstdint>
#include <string_view>
#include <vector>

#include "tokenizer/vocabulary.h"

namespace dilmodeli::tokenizer {

struct TextFragment {
    std::string_view text;     // raw text to tokenize, when token == kNoToken
    int32_t token = kNoToken;  // otherwise the special token found here
};

// Fragments of `text`, in order. Longer special tokens are searched first, each one across
// all fragments that are still raw text, leftmost occurrence first.
std::vector<TextFragment> split_on_special_tokens(const Vocabulary& vocab, std::string_view text,
                                                  bool parse_special);

}  // namespace dilmodeli::tokenizer
