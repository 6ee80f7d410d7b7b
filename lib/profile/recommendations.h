#pragma once
// Advice drawn from a profile's measurements, each with the figures it rests on: how many
// threads, what prompt batch, which weight type would move the bound, the KV cache type.
#include <vector>

#include "profile/profile_report.h"

namespace dilmodeli::profile {

// Reads every field of `report` except `recommendations`.
std::vector<Recommendation> recommend(const ProfileReport& report);

}  // namespace dilmodeli::profile
