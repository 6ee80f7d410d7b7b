#include "tokenizer/pretokenizer.h"

#include "tokenizer/pretokenizer_scan.h"
#include "tokenizer/unicode_categories.h"
#include "tokenizer/utf8.h"

namespace dilmodeli::tokenizer {

CharClass classify(uint32_t cp) {
    if (is_whitespace(cp)) return CharClass::kWhitespace;
    if (is_letter(cp)) return CharClass::kLetter;
    if (is_number(cp)) return CharClass::kNumber;
    return CharClass::kOther;
}

namespace {

// Lengths of the alternating runs of code points that do / do not satisfy `pred`; with
// `isolate`, every matching code point is a run of its own (\p{N} rather than \p{N}+).
template <typename Pred>
std::vector<size_t> runs(const std::vector<uint32_t>& cps, Pred pred, bool isolate) {
    std::vector<size_t> lengths;
    for (size_t pos = 0; pos < cps.size();) {
        const bool matches = pred(pos);
        size_t end = pos + 1;
        if (!(matches && isolate)) {
            while (end < cps.size() && pred(end) == matches) ++end;
        }
        lengths.push_back(end - pos);
        pos = end;
    }
    return lengths;
}

}  // namespace

std::vector<std::string> split_words(PreTokenizer kind, std::string_view text) {
    const std::vector<uint32_t> cps = decode_utf8(text);
    std::vector<size_t> lengths;
    if (kind == PreTokenizer::NewlineRuns) {
        lengths = runs(cps, [&](size_t i) { return cps[i] == '\n'; }, false);
    } else {
        std::vector<CharClass> classes;
        classes.reserve(cps.size());
        for (uint32_t cp : cps) classes.push_back(classify(cp));

        // llama.cpp applies a list of regexes, each to the pieces the previous one left; only
        // SmolLM's list has more than one entry.
        std::vector<size_t> spans = {cps.size()};
        if (kind == PreTokenizer::Smollm) {
            spans = runs(cps, [&](size_t i) { return classes[i] == CharClass::kNumber; }, true);
        }
        size_t begin = 0;
        for (size_t span_length : spans) {
            const ScanSpan span{cps.data(), classes.data(), begin, begin + span_length};
            switch (kind) {
                case PreTokenizer::Llama3: scan_llama3_words(span, 3, lengths); break;
                case PreTokenizer::Qwen2: scan_llama3_words(span, 1, lengths); break;
                case PreTokenizer::Gpt2:
                case PreTokenizer::Smollm:
                case PreTokenizer::NewlineRuns: scan_gpt2_words(span, lengths); break;
            }
            begin += span_length;
        }
    }

    std::vector<std::string> words;
    words.reserve(lengths.size());
    size_t start = 0;
    for (size_t length : lengths) {
        std::string word;
        for (size_t i = start; i < start + length; ++i) append_utf8(word, cps[i]);
        words.push_back(std::move(word));
        start += length;
    }
    return words;
}

}  // namespace dilmodeli::tokenizer
