#pragma once
// GPT-2's pre-tokenizer on its own (see pretokenizer.h for the other families): the regex
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// applied left to right.
#include <string>
#include <string_view>
#include <vector>

namespace dilmodeli::tokenizer {

// The words of `text`, in order; their concatenation is `text` (after malformed UTF-8 has been
// replaced by U+FFFD, as llama.cpp does).
std::vector<std::string> split_gpt2_words(std::string_view text);

}  // namespace dilmodeli::tokenizer
