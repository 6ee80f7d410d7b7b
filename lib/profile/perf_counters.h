#pragma once
// Hardware and software event counts for this process (all its threads created after open()),
// through perf_event_open. Virtual machines often expose no PMU: the hardware events then fail
// to open (ENOENT, EOPNOTSUPP) and are reported unavailable with that reason, never estimated.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dilmodeli::profile {

struct CounterReading {
    // cycles, instructions, cache_references, cache_misses, llc_load_misses (hardware);
    // task_clock_ns, page_faults, context_switches (software); involuntary_context_switches
    // (getrusage, always available).
    std::string name;
    std::optional<double> value;   // scaled for multiplexing; empty when unavailable
    std::string unavailable;       // the reason, when there is no value
};

// One phase's counts: deltas between two snapshots.
struct CounterSample {
    std::vector<CounterReading> readings;
    const CounterReading* find(const std::string& name) const;
};

class PerfCounters {
public:
    // Opens every event it can; those it cannot keep their reason. Never throws.
    PerfCounters();
    ~PerfCounters();
    PerfCounters(const PerfCounters&) = delete;
    PerfCounters& operator=(const PerfCounters&) = delete;

    // Raw totals now; subtract two with difference().
    std::vector<double> snapshot() const;
    CounterSample difference(const std::vector<double>& before, const std::vector<double>& after) const;

    bool hardware_available() const { return hardware_available_; }
    // Why the hardware events are missing ("" when they all opened).
    const std::string& hardware_reason() const { return hardware_reason_; }

private:
    struct Event {
        std::string name;
        bool hardware = false;
        int fd = -1;
        std::string error;
    };
    std::vector<Event> events_;
    bool hardware_available_ = false;
    std::string hardware_reason_;
};

}  // namespace dilmodeli::profile
