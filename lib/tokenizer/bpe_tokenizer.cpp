#include "tokenizer/bpe_tokenizer.h"

#include <algorithm>
#include <queue>

#include "tokenizer/byte_unicode_mapping.h"
#include "tokenizer/gpt2_pretokenizer.h"
#include "tokenizer/utf8.h"

namespace dilmodeli::tokenizer {

namespace {

struct Symbol {
    size_t offset;
    size_t length;  // 0 once merged into its left neighbour
    int prev;
    int next;
};

struct Candidate {
    int left;
    int right;
    int rank;
    std::string text;  // what the pair spelled when queued, to spot entries made stale
};

// Lower rank first; on equal ranks the leftmost pair, matching llama.cpp's queue order.
struct LowerPriority {
    bool operator()(const Candidate& a, const Candidate& b) const {
        if (a.rank != b.rank) return a.rank > b.rank;
        return a.left > b.left;
    }
};

}  // namespace

BpeTokenizer::BpeTokenizer(const std::vector<std::string>& merges) {
    ranks_.reserve(merges.size());
    for (size_t i = 0; i < merges.size(); ++i) {
        const std::string& m = merges[i];
        // Split at the first space after the first character, as llama.cpp does, so that a
        // merge whose left side is itself a space character still parses.
        const size_t space = m.find(' ', 1);
        std::string key = space == std::string::npos ? std::string(" ") : m;
        // The first occurrence of a pair keeps its rank.
        ranks_.emplace(std::move(key), static_cast<int>(i));
    }
}

int BpeTokenizer::rank(std::string_view left, std::string_view right) const {
    std::string key;
    key.reserve(left.size() + 1 + right.size());
    key.append(left).append(1, ' ').append(right);
    const auto it = ranks_.find(key);
    return it == ranks_.end() ? -1 : it->second;
}

void BpeTokenizer::encode(const Vocabulary& vocab, std::string_view text,
                          std::vector<int32_t>& out) const {
    for (const std::string& word : split_gpt2_words(text)) {
        encode_word(vocab, encode_bytes_as_unicode(word), out);
    }
}

void BpeTokenizer::encode_word(const Vocabulary& vocab, const std::string& word,
                               std::vector<int32_t>& out) const {
    std::vector<Symbol> symbols;
    for (size_t offset = 0; offset < word.size();) {
        const size_t len = std::min(utf8_sequence_length(static_cast<unsigned char>(word[offset])),
                                    word.size() - offset);
        const int index = static_cast<int>(symbols.size());
        symbols.push_back({offset, len, index - 1, -1});
        if (index > 0) symbols[static_cast<size_t>(index - 1)].next = index;
        offset += len;
    }
    auto text_of = [&](int i) {
        const Symbol& s = symbols[static_cast<size_t>(i)];
        return std::string_view(word).substr(s.offset, s.length);
    };

    std::priority_queue<Candidate, std::vector<Candidate>, LowerPriority> queue;
    auto consider_pair = [&](int left, int right) {
        if (left < 0 || right < 0) return;
        const int r = rank(text_of(left), text_of(right));
        if (r < 0) return;
        std::string joined(text_of(left));
        joined += text_of(right);
        queue.push({left, right, r, std::move(joined)});
    };
    for (size_t i = 1; i < symbols.size(); ++i) {
        consider_pair(static_cast<int>(i - 1), static_cast<int>(i));
    }

    while (!queue.empty()) {
        const Candidate c = queue.top();
        queue.pop();
        Symbol& l = symbols[static_cast<size_t>(c.left)];
        Symbol& r = symbols[static_cast<size_t>(c.right)];
        if (l.length == 0 || r.length == 0) continue;
        if (l.length + r.length != c.text.size() ||
            std::string_view(word).substr(l.offset, l.length + r.length) != c.text) {
            continue;
        }
        l.length += r.length;
        r.length = 0;
        l.next = r.next;
        if (r.next >= 0) symbols[static_cast<size_t>(r.next)].prev = c.left;
        consider_pair(l.prev, c.left);
        consider_pair(c.left, l.next);
    }

    for (const Symbol& s : symbols) {
        if (s.length == 0) continue;
        const std::string_view piece = std::string_view(word).substr(s.offset, s.length);
        const int32_t id = vocab.find(piece);
        if (id != kNoToken) {
            out.push_back(id);
            continue;
        }
        // Not reachable with a complete byte-level vocabulary. llama.cpp then looks up each
        // byte of the mapped text on its own and drops those that are not tokens; doing the
        // same keeps ids identical even for a damaged vocabulary.
        for (char c : piece) {
            const int32_t byte_id = vocab.find(std::string_view(&c, 1));
            if (byte_id != kNoToken) out.push_back(byte_id);
        }
    }
}

}  // namespace dilmodeli::tokenizer
