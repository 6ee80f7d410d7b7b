// lib/moe/route_bench: the harness behind `route-bench --synthetic`.
#include <catch2/catch.hpp>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "moe/route_bench.h"

using namespace dilmodeli;

TEST_CASE("router_names reads a comma-separated list and refuses unknown names", "[moe][route_bench]") {
    CHECK(moe::router_names("topk,,nash,") == std::vector<std::string>{"topk", "nash"});
    CHECK_THROWS_WITH(moe::router_names(","), Catch::Contains("lists no router"));
    CHECK_THROWS_AS(moe::router_names("topk,nope"), Error);
}

TEST_CASE("bench_synthetic: every router on the same routings, deterministic apart from timings",
          "[moe][route_bench]") {
    moe::RouteBenchOptions o;
    o.experts = 8;
    o.tokens = 256;
    o.batch = 64;
    o.ff = 16;
    o.embd = 32;
    o.threads = 2;
    o.l2 = 1 << 20;
    o.routers = "topk,capacity,nash";
    const moe::RouteBenchResult a = moe::bench_synthetic(o);
    const moe::RouteBenchResult b = moe::bench_synthetic(o);
    REQUIRE(a.routers.size() == 3);
    CHECK(a.routers[0].name == "topk");
    CHECK(a.routers[2].name == "nash");
    CHECK(a.routers[0].mass_kept == Approx(1.0));
    CHECK(a.l2 == 1 << 20);
    CHECK(a.l3 >= 8 << 20);
    for (size_t i = 0; i < a.routers.size(); ++i) {
        CHECK(a.routers[i].max_mean_load == b.routers[i].max_mean_load);
        CHECK(a.routers[i].expert_load == b.routers[i].expert_load);
        CHECK(a.routers[i].perplexity < 0);  // no model
    }
    CHECK(a.speedup.threads == 2);
    CHECK(a.speedup.batch == 64);
    CHECK(a.speedup.serial_seconds > 0);
    CHECK(a.speedup.ratio() > 0);

    const nlohmann::json j = moe::route_bench_json(a);
    CHECK(j["routers"].size() == 3);
    CHECK(j["routers"][0]["perplexity"].is_null());
    CHECK(j["expert_execution"]["batch"] == 64);
    const std::string text = moe::route_bench_text(a);
    CHECK(std::count(text.begin(), text.end(), '\n') == 4);  // header, 3 routers, then the speedup line
    CHECK_THAT(text, Catch::StartsWith("router "));
    CHECK_THAT(text, Catch::Contains("expert execution, batch 64:"));

    o.top_k = 9;
    CHECK_THROWS_WITH(moe::bench_synthetic(o), Catch::Contains("1 <= --top-k <= experts"));
}
