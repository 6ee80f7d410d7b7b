#pragma once
// Pre-tokenizers: byte-pair merges never cross a word boundary, so BPE vocabularies first cut
// the text into words with a regex that belongs to the model family (tokenizer.ggml.pre).
// The regexes use \p{L} and \p{N}, which std::regex lacks; llama.cpp matches the common ones
// with hand-written scanners, and so do we (gpt2_pretokenizer.cpp, llama3_pretokenizer.cpp).
#include <string>
#include <string_view>
#include <vector>

namespace dilmodeli::tokenizer {

enum class PreTokenizer {
    // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
    Gpt2,
    // (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}
    //   | ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
    Llama3,
    // Llama 3's regex with \p{N} in place of \p{N}{1,3}: every digit is a word of its own.
    Qwen2,
    // \p{N} first (each digit isolated), then GPT-2's regex on the text between the digits.
    Smollm,
    // [^\n]+|[\n]+ : Gemma 4 merges over whole lines; only newlines separate words.
    NewlineRuns,
};

// The words of `text`, in order; their concatenation is `text` (after malformed UTF-8 has been
// replaced by U+FFFD, as llama.cpp does).
std::vector<std::string> split_words(PreTokenizer kind, std::string_view text);

}  // namespace dilmodeli::tokenizer
