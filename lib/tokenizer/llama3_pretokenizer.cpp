// Llama 3's and Qwen2's pre-tokenizer regex (pretokenizer.h), scanned by hand:
//   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}
//     | ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
// The alternatives are tried in order at each position, as a backtracking engine would.
#include "tokenizer/pretokenizer_scan.h"

namespace dilmodeli::tokenizer {

namespace {

bool is_line_break(uint32_t cp) { return cp == '\r' || cp == '\n'; }

// (?i:...) only ever compares with ASCII letters, and no other code point lower-cases to one
// of s t m d r e v l, so ASCII folding is the whole of the case-insensitivity.
uint32_t ascii_lower(uint32_t cp) { return cp >= 'A' && cp <= 'Z' ? cp + ('a' - 'A') : cp; }

size_t llama3_word_end(const ScanSpan& s, size_t pos, size_t max_digits) {
    const uint32_t cp = s.at(pos);
    const CharClass cls = s.class_at(pos);

    if (cp == '\'' && pos + 1 < s.end) {
        const uint32_t c1 = ascii_lower(s.at(pos + 1));
        if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') return pos + 2;
        if (pos + 2 < s.end) {
            const uint32_t c2 = ascii_lower(s.at(pos + 2));
            if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) {
                return pos + 3;
            }
        }
    }

    // [^\r\n\p{L}\p{N}]?\p{L}+ : one leading character of any other kind (a space, a quote, a
    // tab) joins the letters after it.
    if (!is_line_break(cp) && cls != CharClass::kNumber &&
        (cls == CharClass::kLetter || s.class_at(pos + 1) == CharClass::kLetter)) {
        size_t end = pos + 1;
        while (s.class_at(end) == CharClass::kLetter) ++end;
        return end;
    }

    // \p{N}{1,3}: long numbers become words of three digits, counted from the left.
    if (cls == CharClass::kNumber) {
        size_t end = pos;
        while (end - pos < max_digits && s.class_at(end) == CharClass::kNumber) ++end;
        return end;
    }

    // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
    const size_t body = cp == ' ' ? pos + 1 : pos;
    if (s.class_at(body) == CharClass::kOther) {
        size_t end = body;
        while (s.class_at(end) == CharClass::kOther) ++end;
        while (is_line_break(s.at(end))) ++end;
        return end;
    }

    size_t spaces = 0;
    size_t after_last_break = 0;
    for (; s.class_at(pos + spaces) == CharClass::kWhitespace; ++spaces) {
        if (is_line_break(s.at(pos + spaces))) after_last_break = pos + spaces + 1;
    }
    // '\s*[\r\n]+': spaces up to and including the run's last line break.
    if (after_last_break > 0) return after_last_break;
    // '\s+(?!\S)': the last space of a run goes to the word after it.
    if (spaces > 1 && pos + spaces < s.end) return pos + spaces - 1;
    if (spaces > 0) return pos + spaces;  // '\s+'
    return pos + 1;  // unreachable: every code point is in some class
}

}  // namespace

void scan_llama3_words(const ScanSpan& span, size_t max_digits, std::vector<size_t>& lengths) {
    for (size_t pos = span.begin; pos < span.end;) {
        const size_t end = llama3_word_end(span, pos, max_digits);
        lengths.push_back(end - pos);
        pos = end;
    }
}

}  // namespace dilmodeli::tokenizer
