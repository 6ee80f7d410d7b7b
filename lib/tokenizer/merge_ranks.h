#pragma once
// The BPE merge table: rank of merging two adjacent symbols, i.e. the position of "left right"
// in tokenizer.ggml.merges (lower merges first). Both sides of a merge are tokens in any real
// vocabulary, so pairs are keyed by their two token ids in one flat open-addressing table:
// Gemma 4's 514,906 merges take 12 MiB this way, against about 40 MiB as a hash map of strings.
// Building it costs two token lookups per merge; they are made in batches (TokenIndex::find_batch)
// so that their cache misses overlap: 1 M lookups for Gemma 4.
// The rare merge with a side that is not a token is kept by text, so ids stay exact even then.
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/string_table.h"
#include "tokenizer/token_index.h"
#include "tokenizer/tokenizer_metadata.h"

namespace dilmodeli::tokenizer {

class MergeRanks {
public:
    MergeRanks() = default;
    // `merges` as stored: "left right", most important first. An entry without a space after
    // its first character is kept in the count but can never apply, as in llama.cpp.
    // Token ids come from `index` over the vocabulary's `texts`.
    MergeRanks(const StringList& merges, const TokenIndex& index, const StringTable& texts);

    // Rank of merging token `left` with token `right`, or -1.
    int rank(int32_t left, int32_t right) const;
    // The same by text, for when a side is not a token (kNoToken id): only merges whose sides
    // are not both tokens are found here.
    int rank_by_text(std::string_view left, std::string_view right) const;

    size_t size() const { return count_; }
    size_t memory_bytes() const;

private:
    struct Entry {
        int32_t left;  // -1: empty slot
        int32_t right;
        int32_t rank;
    };
    size_t home_slot(int32_t left, int32_t right) const;
    size_t slot_of(int32_t left, int32_t right) const;
    void insert(int32_t left, int32_t right, int32_t rank);

    std::vector<Entry> entries_;  // one cache line read per lookup
    size_t mask_ = 0;
    size_t count_ = 0;
    std::unordered_map<std::string, int32_t> by_text_;  // "left right", sides not both tokens
};

}  // namespace dilmodeli::tokenizer
