#include "common/number_format.h"

#include <cstdio>

namespace dilmodeli {

std::string format_number(double value, int digits) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*g", digits, value);
    return buf;
}

}  // namespace dilmodeli
