#pragma once
// Numbers in messages and reports, one way everywhere.
#include <string>

namespace dilmodeli {

// The shortest form with `digits` significant digits, as printf's %g (and a default std::ostream)
// writes it: "0.5", "1e-05", "123457", "nan".
std::string format_number(double value, int digits = 6);

}  // namespace dilmodeli
