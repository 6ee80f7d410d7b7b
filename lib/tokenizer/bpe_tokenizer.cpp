#include "tokenizer/bpe_tokenizer.h"

#include <algorithm>
#include <queue>
#include <string>

#include "tokenizer/byte_unicode_mapping.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/spm_tokenizer.h"
#include "tokenizer/utf8.h"

namespace dilmodeli::tokenizer {

namespace {

struct Symbol {
    size_t offset;
    size_t length;  // 0 once merged into its left neighbour
    int prev;
    int next;
    int32_t id;  // token whose text the symbol spells, or kNoToken
};

struct Candidate {
    int left;
    int right;
    int rank;
    size_t length;  // bytes of the merged text, to recognise entries made stale by later merges
};

// Lower rank first; on equal ranks the leftmost pair, matching llama.cpp's queue order.
struct LowerPriority {
    bool operator()(const Candidate& a, const Candidate& b) const {
        if (a.rank != b.rank) return a.rank > b.rank;
        return a.left > b.left;
    }
};

class WordSession {
public:
    WordSession(const Vocabulary& vocab, std::string_view word) : vocab_(vocab), word_(word) {}

    void run(std::vector<int32_t>& out) {
        split_into_characters();
        for (size_t i = 1; i < symbols_.size(); ++i) {
            consider_pair(static_cast<int>(i - 1), static_cast<int>(i));
        }
        merge_best_pairs();
        for (const Symbol& s : symbols_) {
            if (s.length > 0) emit(s, out);
        }
    }

private:
    std::string_view text_of(const Symbol& s) const { return word_.substr(s.offset, s.length); }

    void split_into_characters() {
        for (size_t offset = 0; offset < word_.size();) {
            const size_t len = std::min(utf8_sequence_length(static_cast<unsigned char>(word_[offset])),
                                        word_.size() - offset);
            const int index = static_cast<int>(symbols_.size());
            symbols_.push_back({offset, len, index - 1, -1, vocab_.find(word_.substr(offset, len))});
            if (index > 0) symbols_[static_cast<size_t>(index - 1)].next = index;
            offset += len;
        }
    }

    void consider_pair(int left, int right) {
        if (left < 0 || right < 0) return;
        const Symbol& l = symbols_[static_cast<size_t>(left)];
        const Symbol& r = symbols_[static_cast<size_t>(right)];
        const MergeRanks& ranks = vocab_.merge_ranks();
        const int rank = l.id != kNoToken && r.id != kNoToken
                             ? ranks.rank(l.id, r.id)
                             : ranks.rank_by_text(text_of(l), text_of(r));
        if (rank >= 0) queue_.push({left, right, rank, l.length + r.length});
    }

    void merge_best_pairs() {
        while (!queue_.empty()) {
            const Candidate c = queue_.top();
            queue_.pop();
            Symbol& l = symbols_[static_cast<size_t>(c.left)];
            Symbol& r = symbols_[static_cast<size_t>(c.right)];
            // Symbols only grow, so a pair whose length changed was merged elsewhere meanwhile.
            if (l.length == 0 || r.length == 0 || l.length + r.length != c.length) continue;
            l.length += r.length;
            l.id = vocab_.find(text_of(l));
            r.length = 0;
            l.next = r.next;
            if (r.next >= 0) symbols_[static_cast<size_t>(r.next)].prev = c.left;
            consider_pair(l.prev, c.left);
            consider_pair(c.left, l.next);
        }
    }

    void emit(const Symbol& s, std::vector<int32_t>& out) const {
        if (s.id != kNoToken) {
            out.push_back(s.id);
            return;
        }
        // Not reachable with a complete vocabulary. llama.cpp then looks up each byte on its
        // own (as its stand-in character, or as <0xNN> for raw-UTF-8 vocabularies) and drops
        // those that are not tokens; doing the same keeps ids identical even then.
        for (char c : text_of(s)) {
            const int32_t byte_id = vocab_.byte_encoded()
                                        ? vocab_.find(std::string_view(&c, 1))
                                        : vocab_.byte_token(static_cast<uint8_t>(c));
            if (byte_id != kNoToken) out.push_back(byte_id);
        }
    }

    const Vocabulary& vocab_;
    std::string_view word_;
    std::vector<Symbol> symbols_;
    std::priority_queue<Candidate, std::vector<Candidate>, LowerPriority> queue_;
};

bool only_newlines(std::string_view word) {
    return word.find_first_not_of('\n') == std::string_view::npos;
}

}  // namespace

void bpe_encode(const Vocabulary& vocab, std::string_view text, std::vector<int32_t>& out) {
    const std::string escaped = vocab.escape_spaces() ? escape_spaces(text) : std::string(text);
    for (const std::string& raw_word : split_words(vocab.pre_tokenizer_kind(), escaped)) {
        const std::string word = vocab.byte_encoded() ? encode_bytes_as_unicode(raw_word) : raw_word;
        // Llama 3 takes a word that is a token as it is, without merging (ignore_merges), and
        // Gemma 4 does so for runs of newlines, which its merges would otherwise split.
        if (vocab.ignore_merges() ||
            (vocab.pre_tokenizer_kind() == PreTokenizer::NewlineRuns && only_newlines(word))) {
            const int32_t id = vocab.find(word);
            if (id != kNoToken) {
                out.push_back(id);
                continue;
            }
        }
        WordSession(vocab, word).run(out);
    }
}

}  // namespace dilmodeli::tokenizer
