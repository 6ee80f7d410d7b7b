#include "tokenizer/special_token_splitter.h"

namespace dilmodeli::tokenizer {

std::vector<TextFragment> split_on_special_tokens(const Vocabulary& vocab, std::string_view text,
                                                  bool parse_special) {
    std::vector<TextFragment> fragments;
    if (text.empty()) return fragments;
    fragments.push_back({text, kNoToken});

    for (int32_t id : vocab.special_tokens_longest_first()) {
        const TokenType type = vocab.type(id);
        if (!parse_special && (type == TokenType::Control || type == TokenType::Unknown)) continue;
        const std::string& needle = vocab.text(id);

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
            }
            if (!rest.empty()) next.push_back({rest, kNoToken});
        }
        fragments.swap(next);
    }
    return fragments;
}

}  // namespace dilmodeli::tokenizer
