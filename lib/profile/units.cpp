#include "profile/units.h"

#include <cstdarg>
#include <cstdio>
#include <vector>

#include "common/error.h"

namespace dilmodeli::profile {

std::string strprintf(const char* format, ...) {
    va_list args;
    va_start(args, format);
    va_list copy;
    va_copy(copy, args);
    const int n = std::vsnprintf(nullptr, 0, format, copy);
    va_end(copy);
    std::vector<char> buf(size_t(n > 0 ? n : 0) + 1);
    std::vsnprintf(buf.data(), buf.size(), format, args);
    va_end(args);
    return std::string(buf.data(), size_t(n > 0 ? n : 0));
}

uint64_t parse_byte_size(const std::string& text, const std::string& flag) {
    size_t used = 0;
    double value = 0;
    try {
        value = std::stod(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    std::string unit = text.substr(used);
    if (!unit.empty() && (unit.back() == 'B' || unit.back() == 'b')) unit.pop_back();
    if (unit.size() == 2 && (unit[1] == 'i' || unit[1] == 'I')) unit.pop_back();
    double scale = 0;
    if (unit.empty()) scale = 1;
    else if (unit == "K" || unit == "k") scale = 1024.0;
    else if (unit == "M" || unit == "m") scale = 1024.0 * 1024;
    else if (unit == "G" || unit == "g") scale = 1024.0 * 1024 * 1024;
    if (used == 0 || scale == 0 || !(value > 0) || value * scale > 1e15)
        throw usage_error(flag + " '" + text + "' is not a size such as 64K, 16M or 1G");
    return uint64_t(value * scale);
}

std::string human_bytes(uint64_t bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = double(bytes);
    int u = 0;
    while (v >= 1024 && u < 4) v /= 1024, ++u;
    if (u == 0) return strprintf("%llu B", static_cast<unsigned long long>(bytes));
    if (v >= 100 || v == double(uint64_t(v))) return strprintf("%.0f %s", v, units[u]);
    return strprintf(v >= 10 ? "%.1f %s" : "%.2f %s", v, units[u]);
}

}  // namespace dilmodeli::profile
