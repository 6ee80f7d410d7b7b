#include "profile/perf_counters.h"

#include <cerrno>
#include <cstring>
#include <linux/perf_event.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace dilmodeli::profile {
namespace {

struct EventSpec {
    const char* name;
    uint32_t type;
    uint64_t config;
};

constexpr uint64_t cache_event(uint64_t cache, uint64_t op, uint64_t result) {
    return cache | (op << 8) | (result << 16);
}

const EventSpec kEvents[] = {
    {"cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES},
    {"instructions", PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS},
    {"cache_references", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_REFERENCES},
    {"cache_misses", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_MISSES},
    {"llc_load_misses", PERF_TYPE_HW_CACHE,
     cache_event(PERF_COUNT_HW_CACHE_LL, PERF_COUNT_HW_CACHE_OP_READ, PERF_COUNT_HW_CACHE_RESULT_MISS)},
    {"task_clock_ns", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_TASK_CLOCK},
    {"page_faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS},
    {"context_switches", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES},
};

std::string explain(int err) {
    std::string why = std::strerror(err);
    if (err == ENOENT || err == EOPNOTSUPP || err == ENODEV)
        why += " (no hardware performance-monitoring unit is exposed, as in most virtual machines)";
    else if (err == EACCES || err == EPERM)
        why += " (/proc/sys/kernel/perf_event_paranoid forbids it)";
    else if (err == ENOSYS)
        why += " (the kernel has no perf_event_open)";
    return why;
}

struct ReadValue {
    uint64_t value, time_enabled, time_running;
};

}  // namespace

const CounterReading* CounterSample::find(const std::string& name) const {
    for (const CounterReading& r : readings)
        if (r.name == name) return &r;
    return nullptr;
}

PerfCounters::PerfCounters() {
    for (const EventSpec& spec : kEvents) {
        Event e;
        e.name = spec.name;
        e.hardware = spec.type != PERF_TYPE_SOFTWARE;
        perf_event_attr attr;
        std::memset(&attr, 0, sizeof attr);
        attr.size = sizeof attr;
        attr.type = spec.type;
        attr.config = spec.config;
        attr.inherit = 1;  // threads created from now on (the TBB workers) count too
        // Software events happen in the kernel (a context switch is one): count them there when allowed.
        attr.exclude_kernel = e.hardware ? 1 : 0;
        attr.exclude_hv = 1;
        attr.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
        long fd = ::syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
        if (fd < 0 && !e.hardware && (errno == EACCES || errno == EPERM)) {
            attr.exclude_kernel = 1;
            fd = ::syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
        }
        if (fd < 0) {
            const int err = errno;
            e.error = "perf_event_open(" + e.name + "): " + explain(err);
        } else {
            e.fd = int(fd);
        }
        events_.push_back(e);
    }
    hardware_available_ = true;
    for (const Event& e : events_) {
        if (!e.hardware || e.fd >= 0) continue;
        if (hardware_reason_.empty()) hardware_reason_ = e.error;
        hardware_available_ = false;
    }
    // Some hardware events may open while others do not (e.g. no LLC event on this CPU).
    bool any_hardware = false;
    for (const Event& e : events_) any_hardware = any_hardware || (e.hardware && e.fd >= 0);
    if (!any_hardware && hardware_reason_.empty()) hardware_reason_ = "no hardware events";
}

PerfCounters::~PerfCounters() {
    for (Event& e : events_)
        if (e.fd >= 0) ::close(e.fd);
}

std::vector<double> PerfCounters::snapshot() const {
    std::vector<double> values(events_.size() + 1, 0.0);
    // Not a perf event: the kernel's count of times another task took our CPU (all threads).
    struct rusage usage {};
    values.back() = ::getrusage(RUSAGE_SELF, &usage) == 0 ? double(usage.ru_nivcsw) : -1.0;
    for (size_t i = 0; i < events_.size(); ++i) {
        if (events_[i].fd < 0) continue;
        ReadValue v{};
        if (::read(events_[i].fd, &v, sizeof v) != ssize_t(sizeof v)) {
            values[i] = -1.0;
            continue;
        }
        // Multiplexed events ran only part of the time: scale to the whole.
        values[i] = v.time_running > 0 ? double(v.value) * double(v.time_enabled) / double(v.time_running) : 0.0;
    }
    return values;
}

CounterSample PerfCounters::difference(const std::vector<double>& before, const std::vector<double>& after) const {
    CounterSample s;
    for (size_t i = 0; i < events_.size(); ++i) {
        CounterReading r;
        r.name = events_[i].name;
        if (events_[i].fd < 0) {
            r.unavailable = events_[i].error;
        } else if (i >= before.size() || i >= after.size() || before[i] < 0 || after[i] < 0) {
            r.unavailable = "read of " + r.name + " failed";
        } else {
            r.value = after[i] - before[i];
        }
        s.readings.push_back(r);
    }
    CounterReading preempted;
    preempted.name = "involuntary_context_switches";
    const size_t k = events_.size();
    if (k < before.size() && k < after.size() && before[k] >= 0 && after[k] >= 0)
        preempted.value = after[k] - before[k];
    else
        preempted.unavailable = "getrusage failed";
    s.readings.push_back(preempted);
    return s;
}

}  // namespace dilmodeli::profile
