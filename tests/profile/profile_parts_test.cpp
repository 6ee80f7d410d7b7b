// The parts of lib/profile on their own: hwloc's caches, the bandwidth probe, the op timer's
// byte accounting on a real model, counters, sizes and escaping.
#include <catch2/catch.hpp>

#include "common/error.h"
#include "model/model.h"
#include "profile/bandwidth_probe.h"
#include "profile/cache_topology.h"
#include "profile/forward_profile.h"
#include "profile/html_report.h"
#include "profile/perf_counters.h"
#include "profile/units.h"
#include "support/shared_data.h"

using namespace dilmodeli;
using namespace dilmodeli::profile;

TEST_CASE("hwloc reports data caches that grow outwards", "[profile]") {
    const CacheTopology t = read_cache_topology();
    INFO(t.error);
    CHECK(t.source.rfind("hwloc ", 0) == 0);
    CHECK(t.cores >= 1);
    for (const CacheLevel& c : t.levels) {
        CHECK(c.size_bytes > 0);
        CHECK(c.shared_by >= 1);
        CHECK(c.instances >= 1);
        CHECK(c.kind != "instruction");
    }
    const CacheLevel *l1 = t.level(1), *l2 = t.level(2), *l3 = t.level(3);
    if (l1 && l2) CHECK(l1->size_bytes < l2->size_bytes);
    if (l2 && l3) CHECK(l2->size_bytes <= l3->size_bytes);
    if (l1) {
        CHECK(t.level_holding(1024, 1) == "L1");
        CHECK(t.level_holding(l1->capacity_for_threads(1) + 1, 1) != "L1");
    }
    CHECK(t.level_holding(uint64_t(1) << 50, 1) == "DRAM");
}

TEST_CASE("a cache level's capacity counts the instances the threads reach", "[profile]") {
    CacheLevel per_core;
    per_core.size_bytes = 1 << 20;
    per_core.shared_by = 1;
    per_core.instances = 4;
    CHECK(per_core.capacity_for_threads(1) == 1 << 20);
    CHECK(per_core.capacity_for_threads(3) == 3 << 20);
    CHECK(per_core.capacity_for_threads(16) == 4 << 20);
    CacheLevel shared = per_core;
    shared.shared_by = 8;
    shared.instances = 2;
    CHECK(shared.capacity_for_threads(8) == 1 << 20);
    CHECK(shared.capacity_for_threads(9) == 2 << 20);
}

TEST_CASE("the bandwidth probe measures a ladder of growing sizes", "[profile]") {
    BandwidthOptions o;
    o.threads = {2, 1, 2};
    o.ladder_min_bytes = 16 << 10;
    o.ladder_max_bytes = 1 << 20;
    o.points_per_octave = 2;
    o.stream_array_bytes = 1 << 20;
    o.seconds_per_measurement = 0.001;
    const BandwidthReport r = measure_bandwidth(o);
    CHECK(r.threads == std::vector<int>{1, 2});
    REQUIRE(r.stream.size() == 2);
    for (const StreamFigures& s : r.stream) {
        CHECK(s.triad_gb_per_s > 0.1);
        CHECK(s.triad_best_gb_per_s >= s.triad_gb_per_s);
        CHECK(s.read_gb_per_s > 0.1);
    }
    REQUIRE(r.ladder.size() == 13);  // 16K .. 1M, two points per doubling
    CHECK(r.ladder.front().bytes == 16 << 10);
    CHECK(r.ladder.back().bytes == 1 << 20);
    for (size_t i = 0; i < r.ladder.size(); ++i) {
        if (i > 0) CHECK(r.ladder[i].bytes > r.ladder[i - 1].bytes);
        REQUIRE(r.ladder[i].gb_per_s.size() == 2);
        for (double v : r.ladder[i].gb_per_s) CHECK(v > 0.1);
    }
    // A working set between two points runs at the larger one's rate; the ends clamp.
    CHECK(r.ladder_at((r.ladder[3].bytes + r.ladder[4].bytes) / 2, 1) == r.ladder[4].gb_per_s[0]);
    CHECK(r.ladder_at(r.ladder[3].bytes, 2) == r.ladder[3].gb_per_s[1]);
    CHECK(r.ladder_at(1, 1) == r.ladder.front().gb_per_s[0]);
    CHECK(r.ladder_at(uint64_t(1) << 40, 2) == r.ladder.back().gb_per_s[1]);
    CHECK(r.triad(7) == r.stream.back().triad_gb_per_s);  // closest measured thread count
    CHECK(!r.read_kernel.empty());
}

TEST_CASE("bandwidth options refuse sizes that cannot work", "[profile]") {
    BandwidthOptions o;
    o.ladder_max_bytes = 8 << 10;
    CHECK_THROWS_AS(o.validate(), Error);
    o = BandwidthOptions();
    o.threads = {0};
    CHECK_THROWS_AS(o.validate(), Error);
    o = BandwidthOptions();
    o.stream_array_bytes = 100;
    CHECK_THROWS_AS(o.validate(), Error);
    CHECK_NOTHROW(BandwidthOptions().validate());
}

TEST_CASE("the op timer counts every weight once per generated token", "[profile]") {
    const std::string path = testing::shared_path("models/stories260K/stories260K.gguf");
    if (!testing::have_shared("models/stories260K/stories260K.gguf")) return;
    auto model = model::Model::load(path);
    model::SessionOptions so;
    so.threads = 1;
    so.context = 16;
    model::Session session(*model, so);
    ForwardProfile profile(*model, 4);
    session.set_timer(&profile);
    const int32_t prompt[] = {1, 403, 407};
    profile.set_phase(Phase::Prompt);
    profile.begin_decode(session.n_past());
    session.decode(prompt, 3, false);
    profile.set_phase(Phase::Generation);
    for (int32_t token : {261, 378}) {
        profile.begin_decode(session.n_past());
        session.decode(&token, 1, false);
    }
    const PhaseTotals& gen = profile.totals(Phase::Generation);
    CHECK(gen.forward_steps == 2);
    uint64_t weights = 0, kv = 0;
    double layer_seconds = 0, op_seconds = 0;
    for (const OpTotals& o : gen.ops) weights += o.weight_bytes, kv += o.kv_bytes, op_seconds += o.seconds;
    for (double s : gen.layer_seconds) layer_seconds += s;
    CHECK(weights == 2 * model->weight_bytes_per_token());
    const auto& c = model->config();
    CHECK(kv == uint64_t(c.n_layers) * 2 * uint64_t(c.kv_dim()) * 4 * (4 + 5));  // positions 4 and 5 visible
    CHECK(layer_seconds == Approx(op_seconds));
    REQUIRE(gen.layer_seconds.size() == size_t(c.n_layers + 1));
    // Ops come in forward-pass order.
    CHECK(gen.ops.front().op == "embedding");
    CHECK(gen.ops.back().op == "output");
    const PhaseTotals& prompt_totals = profile.totals(Phase::Prompt);
    for (const OpTotals& o : prompt_totals.ops)
        if (o.op == "attn_q") {
            CHECK(o.tokens == 3 * c.n_layers);
            CHECK(o.calls == c.n_layers);
            CHECK(o.flops == Approx(2.0 * double(c.n_embd * c.n_embd) * 3 * double(c.n_layers)));
        }
}

TEST_CASE("perf counters give a value or a reason for every event", "[profile]") {
    PerfCounters counters;
    auto before = counters.snapshot();
    volatile double x = 0;
    for (int i = 0; i < 1000000; ++i) x = x + 1.0;
    auto after = counters.snapshot();
    const CounterSample s = counters.difference(before, after);
    REQUIRE(s.readings.size() >= 9);
    for (const CounterReading& r : s.readings) {
        INFO(r.name);
        CHECK((r.value.has_value() != !r.unavailable.empty()));
        if (r.value) CHECK(*r.value >= 0);
    }
    if (!counters.hardware_available()) CHECK(!counters.hardware_reason().empty());
    const CounterReading* clock = s.find("task_clock_ns");
    REQUIRE(clock);
    if (clock->value) CHECK(*clock->value > 0);
    CHECK(s.find("no such counter") == nullptr);
}

TEST_CASE("byte sizes parse with binary units", "[profile]") {
    CHECK(parse_byte_size("4096", "--x") == 4096);
    CHECK(parse_byte_size("16K", "--x") == 16384);
    CHECK(parse_byte_size("64MiB", "--x") == 64ull << 20);
    CHECK(parse_byte_size("1G", "--x") == 1ull << 30);
    CHECK(parse_byte_size("1.5g", "--x") == 3ull << 29);
    for (const char* bad : {"", "K", "12Q", "-4M", "0", "lots"}) {
        INFO(bad);
        CHECK_THROWS_AS(parse_byte_size(bad, "--x"), Error);
    }
    CHECK(human_bytes(0) == "0 B");
    CHECK(human_bytes(48 << 10) == "48 KiB");
    CHECK(human_bytes(1536 << 10) == "1.50 MiB");
    CHECK(human_bytes(508ull << 20) == "508 MiB");
}

TEST_CASE("html_escape makes text safe in content and attributes", "[profile]") {
    CHECK(html_escape("a<b>&\"c'") == "a&lt;b&gt;&amp;&quot;c&#39;");
    CHECK(html_escape("plain") == "plain");
}

TEST_CASE("a last-level cache the ladder contradicts gets its measured size", "[profile]") {
    CacheTopology t;
    CacheLevel l1, l2, l3;
    l1.level = 1, l1.size_bytes = 48 << 10;
    l2.level = 2, l2.size_bytes = 1 << 20;
    l3.level = 3, l3.size_bytes = 508ull << 20;
    t.levels = {l1, l2, l3};
    BandwidthReport b;
    b.threads = {1};
    // Plateaus: 300 GB/s to 32K, 150 to 1M, 80 to 32M, then 40 (DRAM) up to 1G.
    for (uint64_t bytes = 16 << 10; bytes <= (1ull << 30); bytes *= 2)
        b.ladder.push_back({bytes, {bytes <= (32 << 10) ? 300.0 : bytes <= (1 << 20) ? 150.0 : bytes <= (32 << 20) ? 80.0 : 40.0}});
    CacheTopology adjusted = t;
    reconcile_with_ladder(adjusted, b);
    CHECK(adjusted.levels[2].measured_bytes == 32 << 20);
    CHECK(adjusted.levels[2].effective_bytes() == 32 << 20);
    CHECK(adjusted.level_holding(100 << 20, 1) == "DRAM");
    CHECK(t.level_holding(100 << 20, 1) == "L3");
    CHECK(adjusted.levels[0].measured_bytes == 0);

    // On a busy host the cache may read only 1.3x faster than memory; it still ends where the
    // memory plateau starts, not at the reported 508 MiB.
    BandwidthReport busy = b;
    for (LadderPoint& p : busy.ladder)
        if (p.bytes > (1 << 20)) p.gb_per_s[0] = p.bytes <= (32 << 20) ? 52.0 : 40.0;
    CacheTopology busy_adjusted = t;
    reconcile_with_ladder(busy_adjusted, busy);
    CHECK(busy_adjusted.levels[2].measured_bytes == 32 << 20);
    CHECK(busy_adjusted.level_holding(200 << 20, 1) == "DRAM");

    // A ladder that stops inside the reported cache proves nothing.
    BandwidthReport short_ladder = b;
    short_ladder.ladder.resize(10);  // up to 8M
    CacheTopology untouched = t;
    reconcile_with_ladder(untouched, short_ladder);
    CHECK(untouched.levels[2].measured_bytes == 0);

    // A cache that holds up to its reported size is left alone.
    t.levels[2].size_bytes = 32 << 20;
    reconcile_with_ladder(t, b);
    CHECK(t.levels[2].measured_bytes == 0);
}
