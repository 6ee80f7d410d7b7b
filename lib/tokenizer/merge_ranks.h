#pragma once
// The BPE merge table: rank of merging two adjacent symbols, i.e. the position of "left right"
// in tokenizer.ggml.merges (lower merges first). Both sides of a merge are tokens in any real
// vocabulary, so pairs are keyed by their two token ids in one flat open-addressing table:
// Gemma 4's 514,906 merges take 12 MiB this way, against about 40 MiB as a hash map of strings.
// The rare merge with a side that is not a token is kept by text, so ids stay exact even then.
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace dilmodeli::tokenizer {

class Vocabulary;

class MergeRanks {
public:
    MergeRanks() = default;
    // `merges` as stored: "left right", most important first. An entry without a space after
    // its first character is kept in the count but can never apply, as in llama.cpp.
    MergeRanks(const std::vector<std::string>& merges, const Vocabulary& vocab);

    // Rank of merging token `left` with token `right`, or -1.
    int rank(int32_t left, int32_t right) const;
    // The same by text, for when a side is not a token (kNoToken id): only merges whose sides
    // are not both tokens are found here.
    int rank_by_text(std::string_view left, std::string_view right) const;

    size_t size() const { return count_; }
    size_t memory_bytes() const;

private:
    void insert(uint64_t key, int32_t rank);
    size_t slot_of(uint64_t key) const;

    static constexpr uint64_t kEmpty = ~uint64_t{0};
    std::vector<uint64_t> keys_;  // (left id << 32) | right id, or kEmpty
    std::vector<int32_t> ranks_;  // parallel to keys_
    size_t mask_ = 0;
    size_t count_ = 0;
    std::unordered_map<std::string, int32_t> by_text_;  // "left right", sides not both tokens
};

}  // namespace dilmodeli::tokenizer
