#include "tokenizer/merge_ranks.h"

#include <algorithm>

#include "tokenizer/vocabulary.h"

namespace dilmodeli::tokenizer {

MergeRanks::MergeRanks(const StringList& merges, const TokenIndex& index,
                       const StringTable& texts)
    : count_(merges.size()) {
    // At most three quarters full: probe sequences stay short (a few slots), and Gemma 4's
    // 514,906 merges fit in 2^20 slots (12 MiB) rather than 2^21.
    size_t capacity = 16;
    while (capacity * 3 < merges.size() * 4) capacity *= 2;
    entries_.assign(capacity, Entry{kNoToken, kNoToken, -1});
    mask_ = capacity - 1;

    constexpr size_t kBatch = TokenIndex::kBatch / 2;  // two sides per merge
    std::string_view sides[2 * kBatch];
    int32_t ids[2 * kBatch];
    for (size_t first = 0; first < merges.size(); first += kBatch) {
        const size_t n = std::min(kBatch, merges.size() - first);
        for (size_t k = 0; k < n; ++k) {
            const std::string_view m = merges[first + k];
            // Split at the first space after the first character, as llama.cpp does, so that a
            // merge whose left side is itself a space character still parses. An entry without
            // one can never apply: both its sides are left empty, which is never a token.
            const size_t space = m.empty() ? std::string_view::npos : m.find(' ', 1);
            sides[2 * k] = space == std::string_view::npos ? std::string_view() : m.substr(0, space);
            sides[2 * k + 1] = space == std::string_view::npos ? std::string_view() : m.substr(space + 1);
        }
        index.find_batch(sides, 2 * n, texts, ids);
        for (size_t k = 0; k < n; ++k) {
            if (ids[2 * k] == kNoToken || ids[2 * k + 1] == kNoToken) continue;
            __builtin_prefetch(&entries_[home_slot(ids[2 * k], ids[2 * k + 1])]);
        }
        for (size_t k = 0; k < n; ++k) {
            const auto rank = static_cast<int32_t>(first + k);
            const std::string_view m = merges[first + k];
            if (ids[2 * k] != kNoToken && ids[2 * k + 1] != kNoToken) {
                insert(ids[2 * k], ids[2 * k + 1], rank);
            } else if (!sides[2 * k].empty() || !sides[2 * k + 1].empty()) {
                by_text_.emplace(std::string(m), rank);  // first one wins
            }
        }
    }
}

size_t MergeRanks::home_slot(int32_t left, int32_t right) const {
    const uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
    // Fibonacci hashing: consecutive ids spread over the whole table.
    return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> 20) & mask_;
}

size_t MergeRanks::slot_of(int32_t left, int32_t right) const {
    size_t slot = home_slot(left, right);
    while (entries_[slot].left != kNoToken && (entries_[slot].left != left || entries_[slot].right != right))
        slot = (slot + 1) & mask_;
    return slot;
}

void MergeRanks::insert(int32_t left, int32_t right, int32_t rank) {
    Entry& e = entries_[slot_of(left, right)];
    if (e.left != kNoToken) return;  // a repeated merge keeps its first rank
    e = Entry{left, right, rank};
}

int MergeRanks::rank(int32_t left, int32_t right) const {
    if (entries_.empty() || left < 0 || right < 0) return -1;
    return entries_[slot_of(left, right)].rank;
}

int MergeRanks::rank_by_text(std::string_view left, std::string_view right) const {
    if (by_text_.empty()) return -1;
    std::string key;
    key.reserve(left.size() + 1 + right.size());
    key.append(left).append(1, ' ').append(right);
    const auto it = by_text_.find(key);
    return it == by_text_.end() ? -1 : it->second;
}

size_t MergeRanks::memory_bytes() const {
    return entries_.capacity() * sizeof(Entry) + by_text_.size() * 64;
}

}  // namespace dilmodeli::tokenizer
