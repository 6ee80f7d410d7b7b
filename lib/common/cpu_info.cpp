#include "common/cpu_info.h"

#include <hwloc.h>
#include <sys/resource.h>
#include <thread>

namespace dilmodeli {

int physical_core_count() {
    static const int cores = [] {
        hwloc_topology_t topology;
        int n = 0;
        if (hwloc_topology_init(&topology) == 0) {
            if (hwloc_topology_load(topology) == 0) n = hwloc_get_nbobjs_by_type(topology, HWLOC_OBJ_CORE);
            hwloc_topology_destroy(topology);
        }
        if (n <= 0) n = int(std::thread::hardware_concurrency());
        return n > 0 ? n : 1;
    }();
    return cores;
}

double peak_rss_mib() {
    struct rusage usage {};
    ::getrusage(RUSAGE_SELF, &usage);
    return double(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

}  // namespace dilmodeli
