#include "tokenizer/gpt2_pretokenizer.h"

#include <cstdint>

#include "tokenizer/unicode_categories.h"
#include "tokenizer/utf8.h"

namespace dilmodeli::tokenizer {

namespace {

// The regex only ever distinguishes these; kOutside stands for "past the end of the text",
// which matches none of the classes (it is what makes (?!\S) succeed at the end).
enum class CharClass { kLetter, kNumber, kWhitespace, kOther, kOutside };

CharClass classify(uint32_t cp) {
    if (is_whitespace(cp)) return CharClass::kWhitespace;
    if (is_letter(cp)) return CharClass::kLetter;
    if (is_number(cp)) return CharClass::kNumber;
    return CharClass::kOther;
}

class WordSplitter {
public:
    explicit WordSplitter(std::vector<uint32_t> cps) : cps_(std::move(cps)) {
        classes_.reserve(cps_.size());
        for (uint32_t cp : cps_) classes_.push_back(classify(cp));
    }

    // Lengths (in code points) of consecutive words.
    std::vector<size_t> split() const {
        std::vector<size_t> lengths;
        const size_t n = cps_.size();
        size_t pos = 0;
        while (pos < n) {
            const size_t end = match_at(pos);
            lengths.push_back(end - pos);
            pos = end;
        }
        return lengths;
    }

    const std::vector<uint32_t>& codepoints() const { return cps_; }

private:
    CharClass class_at(size_t pos) const {
        return pos < classes_.size() ? classes_[pos] : CharClass::kOutside;
    }

    // End of the word that starts at `pos`, taking the regex's alternatives in order (the
    // first alternative that matches wins, as in a backtracking engine).
    size_t match_at(size_t pos) const {
        const size_t n = cps_.size();
        const uint32_t cp = cps_[pos];

        // 's|'t|'re|'ve|'m|'ll|'d (lower case only: GPT-2's regex is case-sensitive)
        if (cp == '\'' && pos + 1 < n) {
            const uint32_t c1 = cps_[pos + 1];
            if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') return pos + 2;
            if (pos + 2 < n) {
                const uint32_t c2 = cps_[pos + 2];
                if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') ||
                    (c1 == 'l' && c2 == 'l')) {
                    return pos + 3;
                }
            }
        }

        // ' ?\p{L}+', ' ?\p{N}+' and ' ?[^\s\p{L}\p{N}]+' share their optional leading space:
        // the class of the character after it decides which one applies.
        const size_t body = cp == ' ' ? pos + 1 : pos;
        const CharClass body_class = class_at(body);
        if (body_class == CharClass::kLetter || body_class == CharClass::kNumber ||
            body_class == CharClass::kOther) {
            size_t end = body;
            while (class_at(end) == body_class) ++end;
            return end;
        }

        size_t spaces = 0;
        while (class_at(pos + spaces) == CharClass::kWhitespace) ++spaces;
        // '\s+(?!\S)': a run followed by a non-space gives its last space to the next word,
        // so that " word" keeps its leading space.
        if (spaces > 1 && pos + spaces < n) return pos + spaces - 1;
        // '\s+'
        if (spaces > 0) return pos + spaces;
        return pos + 1;  // unreachable: every code point is in some class
    }

    std::vector<uint32_t> cps_;
    std::vector<CharClass> classes_;
};

}  // namespace

std::vector<std::string> split_gpt2_words(std::string_view text) {
    const WordSplitter splitter(decode_utf8(text));
    const auto& cps = splitter.codepoints();
    std::vector<std::string> words;
    size_t start = 0;
    for (size_t length : splitter.split()) {
        std::string word;
        for (size_t i = start; i < start + length; ++i) append_utf8(word, cps[i]);
        words.push_back(std::move(word));
        start += length;
    }
    return words;
}

}  // namespace dilmodeli::tokenizer
