#pragma once
// GPT-2's reversible byte <-> character mapping. Byte-level BPE vocabularies store every token
// as text in which each byte of the original is one printable character: bytes that are
// printable Latin-1 map to themselves, the other 68 (controls, space, 0x7F-0xA0, 0xAD) to
// U+0100 onwards, in byte order. So a space is stored as "Ġ" (U+0120) and a newline as "Ċ".
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dilmodeli::tokenizer {

// UTF-8 text of the character that stands for `byte`.
const std::string& byte_to_unicode(uint8_t byte);

// Every byte of `bytes` replaced by its character.
std::string encode_bytes_as_unicode(std::string_view bytes);

// The byte a character stands for; nullopt for characters outside the mapping.
std::optional<uint8_t> unicode_to_byte(uint32_t codepoint);

}  // namespace dilmodeli::tokenizer
