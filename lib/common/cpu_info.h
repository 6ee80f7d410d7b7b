#pragma once

namespace dilmodeli {

// Physical cores of this machine (hwloc), at least 1: the default thread count, since a
// second hyper-thread on the same core adds little to bandwidth-bound inference.
int physical_core_count();

// Peak resident memory of this process so far, in MiB.
double peak_rss_mib();

}  // namespace dilmodeli
