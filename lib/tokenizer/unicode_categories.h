#pragma once
// The three character classes the GPT-2 pre-tokenizer regex needs: \p{L}, \p{N} and \s.
// std::regex cannot express Unicode categories, so the splitter asks these instead.
#include <cstdint>

namespace dilmodeli::tokenizer {

bool is_letter(uint32_t codepoint);      // \p{L}: general category Lu, Ll, Lt, Lm or Lo
bool is_number(uint32_t codepoint);      // \p{N}: general category Nd, Nl or No
bool is_whitespace(uint32_t codepoint);  // \s: the Unicode White_Space property

}  // namespace dilmodeli::tokenizer
