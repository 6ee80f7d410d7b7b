#include "tokenizer/merge_ranks.h"

#include "tokenizer/vocabulary.h"

namespace dilmodeli::tokenizer {

namespace {

uint64_t pair_key(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

// Fibonacci hashing: consecutive ids spread over the whole table.
size_t mix(uint64_t key) { return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> 20); }

}  // namespace

MergeRanks::MergeRanks(const std::vector<std::string>& merges, const Vocabulary& vocab)
    : count_(merges.size()) {
    // At most three quarters full: probe sequences stay short (a few slots), and Gemma 4's
    // 514,906 merges fit in 2^20 slots (12 MiB) rather than 2^21.
    size_t capacity = 16;
    while (capacity * 3 < merges.size() * 4) capacity *= 2;
    keys_.assign(capacity, kEmpty);
    ranks_.assign(capacity, -1);
    mask_ = capacity - 1;

    for (size_t i = 0; i < merges.size(); ++i) {
        const std::string_view m = merges[i];
        // Split at the first space after the first character, as llama.cpp does, so that a
        // merge whose left side is itself a space character still parses.
        const size_t space = m.find(' ', 1);
        if (space == std::string_view::npos) continue;
        const std::string_view left = m.substr(0, space);
        const std::string_view right = m.substr(space + 1);
        const int32_t left_id = vocab.find(left);
        const int32_t right_id = vocab.find(right);
        if (left_id != kNoToken && right_id != kNoToken) {
            insert(pair_key(left_id, right_id), static_cast<int32_t>(i));
        } else {
            by_text_.emplace(std::string(m), static_cast<int32_t>(i));  // first one wins
        }
    }
}

size_t MergeRanks::slot_of(uint64_t key) const {
    size_t slot = mix(key) & mask_;
    while (keys_[slot] != kEmpty && keys_[slot] != key) slot = (slot + 1) & mask_;
    return slot;
}

void MergeRanks::insert(uint64_t key, int32_t rank) {
    const size_t slot = slot_of(key);
    if (keys_[slot] == key) return;  // a repeated merge keeps its first rank
    keys_[slot] = key;
    ranks_[slot] = rank;
}

int MergeRanks::rank(int32_t left, int32_t right) const {
    if (keys_.empty() || left < 0 || right < 0) return -1;
    const size_t slot = slot_of(pair_key(left, right));
    return keys_[slot] == kEmpty ? -1 : ranks_[slot];
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
    return keys_.capacity() * sizeof(uint64_t) + ranks_.capacity() * sizeof(int32_t) +
           by_text_.size() * 64;
}

}  // namespace dilmodeli::tokenizer
