#pragma once
// One pattern for an enum with names (flags, presets, reports): a table of {value, name} rows
// beside the enum's functions, read both ways by these two templates.
#include <cstddef>
#include <string>

#include "common/error.h"

namespace dilmodeli {

template <typename Enum>
struct EnumName {
    Enum value;
    const char* name;
};

// The name of `value` in `names`; "?" for a value without a row.
template <typename Enum, size_t N>
const char* enum_name(const EnumName<Enum> (&names)[N], Enum value) {
    for (const EnumName<Enum>& n : names)
        if (n.value == value) return n.name;
    return "?";
}

// The value called `name`; Error(Usage) "unknown <what> '<name>' (a, b or c)" otherwise.
template <typename Enum, size_t N>
Enum parse_enum(const EnumName<Enum> (&names)[N], const std::string& name, const std::string& what) {
    std::string choices;
    for (size_t k = 0; k < N; ++k) {
        if (names[k].name == name) return names[k].value;
        choices += (k == 0 ? "" : k + 1 == N ? " or " : ", ") + std::string(names[k].name);
    }
    throw usage_error("unknown " + what + " '" + name + "' (" + choices + ")");
}

}  // namespace dilmodeli
