#include "tokenizer/gpt2_pretokenizer.h"

#include "tokenizer/pretokenizer.h"
#include "tokenizer/pretokenizer_scan.h"

namespace dilmodeli::tokenizer {

namespace {

// End of the word that starts at `pos`, taking the regex's alternatives in order (the first
// alternative that matches wins, as in a backtracking engine).
size_t gpt2_word_end(const ScanSpan& s, size_t pos) {
    const uint32_t cp = s.at(pos);

    // 's|'t|'re|'ve|'m|'ll|'d (lower case only: GPT-2's regex is case-sensitive)
    if (cp == '\'' && pos + 1 < s.end) {
        const uint32_t c1 = s.at(pos + 1);
        if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') return pos + 2;
        if (pos + 2 < s.end) {
            const uint32_t c2 = s.at(pos + 2);
            if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) {
                return pos + 3;
            }
        }
    }

    // ' ?\p{L}+', ' ?\p{N}+' and ' ?[^\s\p{L}\p{N}]+' share their optional leading space:
    // the class of the character after it decides which one applies.
    const size_t body = cp == ' ' ? pos + 1 : pos;
    const CharClass body_class = s.class_at(body);
    if (body_class == CharClass::kLetter || body_class == CharClass::kNumber ||
        body_class == CharClass::kOther) {
        size_t end = body;
        while (s.class_at(end) == body_class) ++end;
        return end;
    }

    size_t spaces = 0;
    while (s.class_at(pos + spaces) == CharClass::kWhitespace) ++spaces;
    // '\s+(?!\S)': a run followed by a non-space gives its last space to the next word,
    // so that " word" keeps its leading space.
    if (spaces > 1 && pos + spaces < s.end) return pos + spaces - 1;
    // '\s+'
    if (spaces > 0) return pos + spaces;
    return pos + 1;  // unreachable: every code point is in some class
}

}  // namespace

void scan_gpt2_words(const ScanSpan& span, std::vector<size_t>& lengths) {
    for (size_t pos = span.begin; pos < span.end;) {
        const size_t end = gpt2_word_end(span, pos);
        lengths.push_back(end - pos);
        pos = end;
    }
}

std::vector<std::string> split_gpt2_words(std::string_view text) {
    return split_words(PreTokenizer::Gpt2, text);
}

}  // namespace dilmodeli::tokenizer
