#include "tokenizer/spm_tokenizer.h"

#include <algorithm>
#include <queue>

#include "tokenizer/utf8.h"

namespace dilmodeli::tokenizer {

namespace {

// A run of bytes of the input, linked to its neighbours. Merging a pair grows the left symbol
// and empties the right one (length 0), so indices stay stable while merges happen.
struct Symbol {
    size_t offset;
    size_t length;
    int prev;
    int next;
};

struct Candidate {
    int left;
    int right;
    float score;
    size_t length;  // bytes of the merged text, to recognise entries made stale by later merges
};

// Priority order: higher score first; on equal scores the leftmost pair. This is the order
// llama.cpp's queue pops in, and it decides the ids whenever two merges compete.
struct LowerPriority {
    bool operator()(const Candidate& a, const Candidate& b) const {
        if (a.score != b.score) return a.score < b.score;
        return a.left > b.left;
    }
};

class SpmSession {
public:
    SpmSession(const Vocabulary& vocab, std::string_view text) : vocab_(vocab), text_(text) {}

    void run(std::vector<int32_t>& out) {
        if (text_.empty()) return;
        split_into_characters();
        for (size_t i = 1; i < symbols_.size(); ++i) {
            consider_pair(static_cast<int>(i - 1), static_cast<int>(i));
        }
        merge_best_pairs();
        for (int i = 0; i != -1; i = symbols_[static_cast<size_t>(i)].next) {
            emit(symbols_[static_cast<size_t>(i)], out);
        }
    }

private:
    void split_into_characters() {
        size_t offset = 0;
        while (offset < text_.size()) {
            const size_t len = std::min(utf8_sequence_length(static_cast<unsigned char>(text_[offset])),
                                        text_.size() - offset);
            const int index = static_cast<int>(symbols_.size());
            symbols_.push_back({offset, len, index - 1, -1});
            if (index > 0) symbols_[static_cast<size_t>(index - 1)].next = index;
            offset += len;
        }
    }

    void consider_pair(int left, int right) {
        if (left < 0 || right < 0) return;
        const Symbol& l = symbols_[static_cast<size_t>(left)];
        const Symbol& r = symbols_[static_cast<size_t>(right)];
        const size_t length = l.length + r.length;
        const int32_t id = vocab_.find(text_.substr(l.offset, length));
        if (id == kNoToken) return;
        queue_.push({left, right, vocab_.score(id), length});
    }

    void merge_best_pairs() {
        while (!queue_.empty()) {
            const Candidate c = queue_.top();
            queue_.pop();
            Symbol& l = symbols_[static_cast<size_t>(c.left)];
            Symbol& r = symbols_[static_cast<size_t>(c.right)];
            // Either side merged elsewhere since this entry was queued: it no longer applies.
            if (l.length == 0 || r.length == 0 || l.length + r.length != c.length) continue;
            l.length += r.length;
            r.length = 0;
            l.next = r.next;
            if (r.next >= 0) symbols_[static_cast<size_t>(r.next)].prev = c.left;
            consider_pair(l.prev, c.left);
            consider_pair(c.left, l.next);
        }
    }

    void emit(const Symbol& s, std::vector<int32_t>& out) const {
        const std::string_view piece = text_.substr(s.offset, s.length);
        const int32_t id = vocab_.find(piece);
        if (id != kNoToken) {
            out.push_back(id);
            return;
        }
        // Only unmerged single characters can be missing (every merge produced a token), so
        // spelling them byte by byte loses nothing.
        for (char c : piece) {
            const int32_t byte_id = vocab_.byte_fallback_token(static_cast<uint8_t>(c));
            if (byte_id != kNoToken) out.push_back(byte_id);
        }
    }

    const Vocabulary& vocab_;
    std::string_view text_;
    std::vector<Symbol> symbols_;
    std::priority_queue<Candidate, std::vector<Candidate>, LowerPriority> queue_;
};

}  // namespace

void spm_encode(const Vocabulary& vocab, std::string_view text, std::vector<int32_t>& out) {
    SpmSession(vocab, text).run(out);
}

std::string escape_spaces(std::string_view text) {
    static constexpr std::string_view kEscapedSpace = "\xE2\x96\x81";
    std::string out;
    out.reserve(text.size() + text.size() / 2);
    for (char c : text) {
        if (c == ' ') out += kEscapedSpace;
        else out.push_back(c);
    }
    return out;
}

}  // namespace dilmodeli::tokenizer
