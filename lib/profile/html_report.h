#pragma once
// The profile as one self-contained HTML page: tables and inline SVG charts (time by op and by
// layer, the bandwidth ladder with the ops placed on it, a roofline), no scripts, no external
// resources. Every element it opens it closes (SVG shapes are self-closing).
#include <string>

#include "profile/profile_report.h"

namespace dilmodeli::profile {

std::string render_html(const ProfileReport& report);

// Text made safe for HTML content and attribute values.
std::string html_escape(const std::string& text);

}  // namespace dilmodeli::profile
