#pragma once
// The profile as tables for a terminal: op and layer shares per phase, the machine's caches and
// bandwidth ladder, the roofline, where tensors fit, counters and recommendations.
#include <string>

#include "profile/profile_report.h"

namespace dilmodeli::profile {

// Lines end with '\n'.
std::string format_text(const ProfileReport& report);

}  // namespace dilmodeli::profile
