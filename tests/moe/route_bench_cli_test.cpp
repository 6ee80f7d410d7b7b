#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "support/run_cli.h"
#include "support/shared_data.h"

using namespace dilmodeli;

TEST_CASE("route-bench --synthetic --json reports every key for every router, --plot writes SVG", "[moe]") {
    const std::string dir = testing::temp_dir("route_bench");
    const auto r = testing::run_cli("route-bench --synthetic --experts 16 --tokens 1024 --batch 256 --skew 1.2 "
                                    "--expert-ff 64 --json --plot " + dir + "/load.svg");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const auto j = nlohmann::json::parse(r.out);
    REQUIRE(j["routers"].size() == 4);
    for (const auto& router : j["routers"]) {
        for (const char* key : {"name", "max_mean_load", "load_cv", "dropped", "mass_kept", "distinct_per_batch",
                                "cache_hit_l2", "cache_hit_l3", "route_us_per_token", "expert_tok_per_s", "perplexity"})
            REQUIRE(router.contains(key));
    }
    REQUIRE(j["routers"][0]["name"] == "topk");
    REQUIRE(j["routers"][0]["mass_kept"].get<double>() == Approx(1.0));
    const std::string svg = testing::read_text_file(dir + "/load.svg");
    REQUIRE(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0) == 0);
    REQUIRE(svg.find("</svg>") != std::string::npos);
    REQUIRE(svg.find("nash") != std::string::npos);
}

TEST_CASE("route-bench needs a model and text or --synthetic", "[moe]") {
    REQUIRE(testing::run_cli("route-bench --json").exit_code == 1);
    REQUIRE(testing::run_cli("route-bench --synthetic --routers nope").exit_code == 1);
}
