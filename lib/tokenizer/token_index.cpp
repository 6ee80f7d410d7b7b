#include "tokenizer/token_index.h"

#include <functional>

namespace dilmodeli::tokenizer {

namespace {

uint64_t hash_of(std::string_view text) { return std::hash<std::string_view>{}(text); }

uint32_t tag_of(uint64_t hash) { return static_cast<uint32_t>(hash >> 32); }

}  // namespace

int32_t TokenIndex::build(const StringTable& texts, int32_t& duplicate) {
    size_t capacity = 16;
    while (capacity < 2 * texts.size()) capacity *= 2;  // at most half full
    slots_.assign(capacity, Slot{0, -1});
    mask_ = capacity - 1;
    for (size_t i = 0; i < texts.size(); ++i) {
        const std::string_view text = texts[i];
        const uint64_t h = hash_of(text);
        for (size_t slot = h & mask_;; slot = (slot + 1) & mask_) {
            Slot& s = slots_[slot];
            if (s.id < 0) {
                s = Slot{tag_of(h), static_cast<int32_t>(i)};
                break;
            }
            if (s.hash == tag_of(h) && texts[static_cast<size_t>(s.id)] == text) {
                duplicate = static_cast<int32_t>(i);
                return s.id;
            }
        }
    }
    return -1;
}

int32_t TokenIndex::find(std::string_view text, const StringTable& texts) const {
    int32_t id = -1;
    find_batch(&text, 1, texts, &id);
    return id;
}

void TokenIndex::find_batch(const std::string_view* text, size_t n, const StringTable& texts,
                            int32_t* ids) const {
    if (slots_.empty()) {
        for (size_t k = 0; k < n; ++k) ids[k] = -1;
        return;
    }
    uint64_t hash[kBatch];
    for (size_t k = 0; k < n; ++k) {
        hash[k] = hash_of(text[k]);
        __builtin_prefetch(&slots_[hash[k] & mask_]);
    }
    // The first slot's candidate text, fetched ahead of the comparison.
    for (size_t k = 0; k < n; ++k) {
        const Slot& s = slots_[hash[k] & mask_];
        if (s.id >= 0 && s.hash == tag_of(hash[k])) __builtin_prefetch(texts[static_cast<size_t>(s.id)].data());
    }
    for (size_t k = 0; k < n; ++k) {
        ids[k] = -1;
        for (size_t slot = hash[k] & mask_;; slot = (slot + 1) & mask_) {
            const Slot& s = slots_[slot];
            if (s.id < 0) break;
            if (s.hash == tag_of(hash[k]) && texts[static_cast<size_t>(s.id)] == text[k]) {
                ids[k] = s.id;
                break;
            }
        }
    }
}

}  // namespace dilmodeli::tokenizer
