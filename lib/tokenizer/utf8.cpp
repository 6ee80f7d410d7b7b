#include "tokenizer/utf8.h"

namespace dilmodeli::tokenizer {

size_t utf8_sequence_length(unsigned char lead) {
    // Indexed by the top four bits. 0x8-0xB are continuation bytes: llama.cpp treats a stray one
    // as a one-byte symbol, and so must we for identical symbol boundaries.
    static constexpr unsigned char kLengthByHighNibble[16] = {1, 1, 1, 1, 1, 1, 1, 1,
                                                              1, 1, 1, 1, 2, 2, 3, 4};
    return kLengthByHighNibble[lead >> 4];
}

void append_utf8(std::string& out, uint32_t codepoint) {
    if (codepoint > 0x10FFFF) codepoint = kReplacementCharacter;
    if (codepoint < 0x80) {
        out.push_back(static_cast<char>(codepoint));
    } else if (codepoint < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (codepoint >> 6)));
        out.push_back(static_cast<char>(0x80 | (codepoint & 0x3F)));
    } else if (codepoint < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (codepoint >> 12)));
        out.push_back(static_cast<char>(0x80 | ((codepoint >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (codepoint & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (codepoint >> 18)));
        out.push_back(static_cast<char>(0x80 | ((codepoint >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((codepoint >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (codepoint & 0x3F)));
    }
}

std::string codepoint_to_utf8(uint32_t codepoint) {
    std::string out;
    append_utf8(out, codepoint);
    return out;
}

namespace {

bool is_continuation(unsigned char b) { return (b & 0xC0) == 0x80; }

}  // namespace

uint32_t next_codepoint(std::string_view text, size_t& pos) {
    // Deliberately lenient in the same way as llama.cpp (overlong forms decode to their value):
    // the GPT-2 pre-tokenizer re-encodes these code points, and any other choice would change
    // the bytes it hands to BPE.
    const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
    const size_t n = text.size();
    const size_t i = pos;
    const unsigned char b0 = bytes[i];
    size_t len = 0;
    uint32_t value = 0;
    if (b0 < 0x80) {
        len = 1;
        value = b0;
    } else if ((b0 & 0xE0) == 0xC0) {
        len = 2;
        value = b0 & 0x1F;
    } else if ((b0 & 0xF0) == 0xE0) {
        len = 3;
        value = b0 & 0x0F;
    } else if ((b0 & 0xF8) == 0xF0) {
        len = 4;
        value = b0 & 0x07;
    }
    bool ok = len != 0 && i + len <= n;
    for (size_t k = 1; ok && k < len; ++k) {
        if (!is_continuation(bytes[i + k])) ok = false;
        value = (value << 6) | (bytes[i + k] & 0x3F);
    }
    if (!ok) {
        pos = i + 1;
        return kReplacementCharacter;
    }
    pos = i + len;
    return value;
}

std::vector<uint32_t> decode_utf8(std::string_view text) {
    std::vector<uint32_t> out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) out.push_back(next_codepoint(text, i));
    return out;
}

size_t utf8_complete_prefix_length(std::string_view bytes) {
    const size_t n = bytes.size();
    // A sequence is at most 4 bytes, so only the last 3 can belong to an unfinished one.
    for (size_t back = 1; back <= 3 && back <= n; ++back) {
        const auto b = static_cast<unsigned char>(bytes[n - back]);
        if (is_continuation(b)) continue;
        size_t expected = 0;
        if ((b & 0xE0) == 0xC0) expected = 2;
        else if ((b & 0xF0) == 0xE0) expected = 3;
        else if ((b & 0xF8) == 0xF0) expected = 4;
        // ASCII or an invalid lead: nothing to wait for.
        if (expected == 0 || expected <= back) return n;
        return n - back;
    }
    return n;
}

bool is_valid_utf8(std::string_view text) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
    const size_t n = text.size();
    size_t i = 0;
    while (i < n) {
        const unsigned char b0 = bytes[i];
        size_t len = 0;
        uint32_t value = 0;
        uint32_t minimum = 0;
        if (b0 < 0x80) {
            ++i;
            continue;
        } else if ((b0 & 0xE0) == 0xC0) {
            len = 2, value = b0 & 0x1F, minimum = 0x80;
        } else if ((b0 & 0xF0) == 0xE0) {
            len = 3, value = b0 & 0x0F, minimum = 0x800;
        } else if ((b0 & 0xF8) == 0xF0) {
            len = 4, value = b0 & 0x07, minimum = 0x10000;
        } else {
            return false;
        }
        if (i + len > n) return false;
        for (size_t k = 1; k < len; ++k) {
            if (!is_continuation(bytes[i + k])) return false;
            value = (value << 6) | (bytes[i + k] & 0x3F);
        }
        if (value < minimum || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) {
            return false;
        }
        i += len;
    }
    return true;
}

}  // namespace dilmodeli::tokenizer
