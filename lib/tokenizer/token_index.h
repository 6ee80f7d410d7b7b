#pragma once
// Token text -> id. An open-addressing table of ids (with 32 bits of each text's hash beside
// them, so that probes rarely touch the text) instead of std::unordered_map: for Gemma 4's
// 262,144 tokens it takes 4 MiB instead of about 12, and building it is several times faster
// because there is no allocation per token. The texts stay with the caller, who passes them in.
#include <cstdint>
#include <string_view>
#include <vector>

#include "tokenizer/string_table.h"

namespace dilmodeli::tokenizer {

class TokenIndex {
public:
    // Indexes texts[0..n). Returns -1, or the id of an earlier token with the same text as a
    // later one (`duplicate` is then set to the later id).
    int32_t build(const StringTable& texts, int32_t& duplicate);

    // Id whose text is `text`, or -1.
    int32_t find(std::string_view text, const StringTable& texts) const;
    // find() of n texts at once (n <= kBatch): the table and text reads of all of them are
    // started before any is waited for. A vocabulary's load looks up both sides of every merge
    // (a million lookups for Gemma 4), each a likely cache miss; batched, the misses overlap.
    static constexpr size_t kBatch = 32;
    void find_batch(const std::string_view* text, size_t n, const StringTable& texts, int32_t* ids) const;

    size_t memory_bytes() const { return slots_.capacity() * sizeof(Slot); }

private:
    struct Slot {
        uint32_t hash;
        int32_t id;  // -1: empty
    };
    std::vector<Slot> slots_;
    size_t mask_ = 0;
};

}  // namespace dilmodeli::tokenizer
