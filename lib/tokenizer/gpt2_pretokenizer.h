#pragma once
// GPT-2's pre-tokenizer: text is cut into words before BPE so that merges never cross a word
// boundary. It is the regex
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// applied left to right, written out by hand because std::regex has no \p{..}.
#include <string>
#include <string_view>
#include <vector>

namespace dilmodeli::tokenizer {

// The words of `text`, in order; their concatenation is `text` (after malformed UTF-8 has been
// replaced by U+FFFD, as llama.cpp does).
std::vector<std::string> split_gpt2_words(std::string_view text);

}  // namespace dilmodeli::tokenizer
