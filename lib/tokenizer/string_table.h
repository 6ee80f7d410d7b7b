#pragma once
// Many short strings end to end in one buffer, with where each ends: 4 bytes per string beside
// its text, where a std::string costs 32 (plus a heap block past 15 bytes) and one allocation.
// Token texts and token pieces of 150k-260k-token vocabularies are kept this way.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dilmodeli::tokenizer {

class StringTable {
public:
    void reserve(size_t count, size_t bytes) {
        ends_.reserve(count);
        bytes_.reserve(bytes);
    }
    // Throws Error(BadInput) once the strings together pass 4 GiB.
    void push_back(std::string_view s);
    // A string built in pieces: start() adds an empty one, append_to_last() extends it.
    void start() { ends_.push_back(end()); }
    void append_to_last(std::string_view s);
    void shrink_to_fit();

    size_t size() const { return ends_.size(); }
    std::string_view operator[](size_t i) const {
        const uint32_t begin = i == 0 ? 0 : ends_[i - 1];
        return std::string_view(bytes_.data() + begin, ends_[i] - begin);
    }
    size_t memory_bytes() const { return bytes_.capacity() + ends_.capacity() * sizeof(uint32_t); }

private:
    uint32_t end() const { return ends_.empty() ? 0 : ends_.back(); }

    std::string bytes_;
    std::vector<uint32_t> ends_;
};

}  // namespace dilmodeli::tokenizer
