#include "tokenizer/token_index.h"

#include <functional>

namespace dilmodeli::tokenizer {

namespace {

uint64_t hash_of(std::string_view text) { return std::hash<std::string_view>{}(text); }

}  // namespace

int32_t TokenIndex::build(const std::vector<std::string>& texts, int32_t& duplicate) {
    size_t capacity = 16;
    while (capacity < 2 * texts.size()) capacity *= 2;  // at most half full
    slots_.assign(capacity, Slot{0, -1});
    mask_ = capacity - 1;
    for (size_t i = 0; i < texts.size(); ++i) {
        const uint64_t h = hash_of(texts[i]);
        const uint32_t tag = static_cast<uint32_t>(h >> 32);
        for (size_t slot = h & mask_;; slot = (slot + 1) & mask_) {
            Slot& s = slots_[slot];
            if (s.id < 0) {
                s = Slot{tag, static_cast<int32_t>(i)};
                break;
            }
            if (s.hash == tag && texts[static_cast<size_t>(s.id)] == texts[i]) {
                duplicate = static_cast<int32_t>(i);
                return s.id;
            }
        }
    }
    return -1;
}

int32_t TokenIndex::find(std::string_view text, const std::vector<std::string>& texts) const {
    if (slots_.empty()) return -1;
    const uint64_t h = hash_of(text);
    const uint32_t tag = static_cast<uint32_t>(h >> 32);
    for (size_t slot = h & mask_;; slot = (slot + 1) & mask_) {
        const Slot& s = slots_[slot];
        if (s.id < 0) return -1;
        if (s.hash == tag && texts[static_cast<size_t>(s.id)] == text) return s.id;
    }
}

}  // namespace dilmodeli::tokenizer
