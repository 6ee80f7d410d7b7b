#include "tokenizer/byte_unicode_mapping.h"

#include <array>

#include "tokenizer/utf8.h"

namespace dilmodeli::tokenizer {

namespace {

bool maps_to_itself(int byte) {
    // The printable ranges '!'..'~', '¡'..'¬' and '®'..'ÿ' keep their own code point.
    return (byte >= 0x21 && byte <= 0x7E) || (byte >= 0xA1 && byte <= 0xAC) ||
           (byte >= 0xAE && byte <= 0xFF);
}

struct Tables {
    std::array<uint32_t, 256> codepoint_of_byte{};
    std::array<std::string, 256> text_of_byte;
    // Inverse over the only code points in use: 0..0xFF and 0x100..0x143.
    std::array<int16_t, 0x144> byte_of_codepoint{};

    Tables() {
        byte_of_codepoint.fill(-1);
        uint32_t next_substitute = 0x100;
        for (int b = 0; b < 256; ++b) {
            const uint32_t cp = maps_to_itself(b) ? static_cast<uint32_t>(b) : next_substitute++;
            codepoint_of_byte[b] = cp;
            text_of_byte[b] = codepoint_to_utf8(cp);
            byte_of_codepoint[cp] = static_cast<int16_t>(b);
        }
    }
};

const Tables& tables() {
    static const Tables instance;
    return instance;
}

}  // namespace

const std::string& byte_to_unicode(uint8_t byte) { return tables().text_of_byte[byte]; }

std::string encode_bytes_as_unicode(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size() * 2);
    for (char c : bytes) out += byte_to_unicode(static_cast<uint8_t>(c));
    return out;
}

std::optional<uint8_t> unicode_to_byte(uint32_t codepoint) {
    const auto& inverse = tables().byte_of_codepoint;
    if (codepoint >= inverse.size() || inverse[codepoint] < 0) return std::nullopt;
    return static_cast<uint8_t>(inverse[codepoint]);
}

}  // namespace dilmodeli::tokenizer
