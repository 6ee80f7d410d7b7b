#include "tokenizer/special_token_splitter.h"

namespace dilmodeli::tokenizer {

namespace {

// C's isspace in the "C" locale, which is what llama.cpp strips with.
bool is_ascii_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

}  // namespace

std::vector<TextFragment> split_on_special_tokens(const Vocabulary& vocab, std::string_view text,
                                                  bool parse_special) {
    std::vector<TextFragment> fragments;
    if (text.empty()) return fragments;
    fragments.push_back({text, kNoToken});

    for (int32_t id : vocab.special_tokens_longest_first()) {
        const TokenType type = vocab.type(id);
        if (!parse_special && (type == TokenType::Control || type == TokenType::Unknown)) continue;
        const std::string_view needle = vocab.text_view(id);
        const bool strip_after = vocab.strips_space_after(id);

        std::vector<TextFragment> next;
        next.reserve(fragments.size());
        for (const TextFragment& f : fragments) {
            if (f.token != kNoToken) {
                next.push_back(f);
                continue;
            }
            std::string_view rest = f.text;
            for (size_t at = rest.find(needle); at != std::string_view::npos; at = rest.find(needle)) {
                if (at > 0) next.push_back({rest.substr(0, at), kNoToken});
                next.push_back({std::string_view(), id});
                rest.remove_prefix(at + needle.size());
                while (strip_after && !rest.empty() && is_ascii_space(rest.front())) rest.remove_prefix(1);
            }
            if (!rest.empty()) next.push_back({rest, kNoToken});
        }
        fragments.swap(next);
    }
    return fragments;
}

}  // namespace dilmodeli::tokenizer
