#pragma once
// The renderers behind ChatTemplate, in two tables: llama.cpp's built-in formats
// (builtin_formats.cpp) and model families whose Jinja templates we reproduce
// (family_formats.cpp). Internal to lib/chat.
#include <string>
#include <vector>

#include "chat/chat_template.h"

namespace dilmodeli::chat::detail {

struct NamedRenderer {
    const char* name;
    ChatTemplate::Renderer render;
};

const std::vector<NamedRenderer>& builtin_formats();
const std::vector<NamedRenderer>& family_formats();

// Whitespace as llama.cpp's trim and Jinja's strip()/trim see it: ASCII isspace only.
std::string trim(const std::string& text);
std::string trim_left(const std::string& text);
std::string trim_right(const std::string& text);
// Python's str.strip(chars) and friends, for one character set.
std::string strip_chars(const std::string& text, const std::string& chars, bool left, bool right);

bool contains(const std::string& haystack, const std::string& needle);

}  // namespace dilmodeli::chat::detail
