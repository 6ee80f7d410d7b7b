#pragma once
// Internal to the pre-tokenizers: one span of classified code points, and the scanners that cut
// a span into words. llama.cpp runs each regex on one span at a time (the pieces an earlier
// regex left), and a lookahead such as (?!\S) sees the end of the span as "nothing", so the
// span's end, not the text's, is what the scanners test against.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace dilmodeli::tokenizer {

// What the regexes distinguish. kOutside is "past the end of the span": it matches no class.
enum class CharClass { kLetter, kNumber, kWhitespace, kOther, kOutside };

CharClass classify(uint32_t codepoint);

struct ScanSpan {
    const uint32_t* codepoints;  // the whole text
    const CharClass* classes;    // one per code point
    size_t begin;
    size_t end;

    static constexpr uint32_t kNone = 0xFFFFFFFF;
    uint32_t at(size_t pos) const { return pos < end ? codepoints[pos] : kNone; }
    CharClass class_at(size_t pos) const { return pos < end ? classes[pos] : CharClass::kOutside; }
};

// Each appends the lengths (in code points) of the span's consecutive words to `lengths`.
void scan_gpt2_words(const ScanSpan& span, std::vector<size_t>& lengths);
// `max_digits`: 3 for Llama 3 (\p{N}{1,3}), 1 for Qwen2 (\p{N}).
void scan_llama3_words(const ScanSpan& span, size_t max_digits, std::vector<size_t>& lengths);

}  // namespace dilmodeli::tokenizer
