#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <sstream>

#include "common/number_format.h"

using dilmodeli::format_number;

TEST_CASE("format_number writes what a default stream writes", "[common]") {
    for (double v : {0.0, 0.5, -2.25, 1e-5, 123456.0, 1234567.0, 0.1 + 0.2, 1.0 / 3,
                     std::numeric_limits<double>::infinity()}) {
        std::ostringstream stream;
        stream << v;
        CHECK(format_number(v) == stream.str());
        std::ostringstream precise;
        precise.precision(15);
        precise << v;
        CHECK(format_number(v, 15) == precise.str());
    }
    CHECK(format_number(0.1 + 0.2) == "0.3");
    CHECK(format_number(1e-5) == "1e-05");
    CHECK(format_number(1234567.0) == "1.23457e+06");
}
