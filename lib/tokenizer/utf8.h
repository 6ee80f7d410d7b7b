#pragma once
// UTF-8 helpers shared by the tokenizers and the token streamer. They follow llama.cpp's
// conventions (not the strictest reading of the standard) because token ids must match it:
// the length of a sequence is judged from its first byte alone, and undecodable bytes become
// U+FFFD one byte at a time.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dilmodeli::tokenizer {

constexpr uint32_t kReplacementCharacter = 0xFFFD;

// Bytes in the sequence that starts with `lead`, from its top four bits: 1 for ASCII and for
// stray continuation bytes, 2/3/4 for multi-byte leads. The SPM and BPE tokenizers split
// their input into symbols with this rule.
size_t utf8_sequence_length(unsigned char lead);

// Appends the UTF-8 form of `codepoint` (1 to 4 bytes).
void append_utf8(std::string& out, uint32_t codepoint);
std::string codepoint_to_utf8(uint32_t codepoint);

// The code point that starts at text[pos] (pos < text.size()); pos moves past it. Malformed
// input as in decode_utf8.
uint32_t next_codepoint(std::string_view text, size_t& pos);

// Code points of `text`. A malformed or truncated sequence yields U+FFFD and decoding resumes
// at the next byte.
std::vector<uint32_t> decode_utf8(std::string_view text);

// Length of the longest prefix of `bytes` that does not end inside an unfinished multi-byte
// sequence: a trailing lead byte whose continuation bytes have not all arrived yet is held
// back; anything else (complete or plainly invalid) is released.
size_t utf8_complete_prefix_length(std::string_view bytes);

// True when `bytes` is well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF).
bool is_valid_utf8(std::string_view bytes);

}  // namespace dilmodeli::tokenizer
