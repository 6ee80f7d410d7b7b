#include <catch2/catch.hpp>
#include <algorithm>
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

namespace {

nlohmann::json router_named(const nlohmann::json& j, const std::string& name) {
    for (const auto& r : j["routers"])
        if (r["name"] == name) return r;
    FAIL("no router " << name);
    return {};
}

}  // namespace

TEST_CASE("route-bench --synthetic: nash reaches the swarm bound, and 1.10 where the bound allows", "[moe]") {
    for (const char* skew : {"0.3", "1.2"}) {
        const auto r = testing::run_cli(std::string("route-bench --synthetic --experts 64 --tokens 2048 --batch 512 "
                                                    "--expert-ff 32 --routers topk,nash --json --skew ") + skew);
        INFO("skew " << skew << ": " << r.err);
        REQUIRE(r.exit_code == 0);
        const auto j = nlohmann::json::parse(r.out);
        const auto topk = router_named(j, "topk"), nash = router_named(j, "nash");
        const double bound = nash["swarm_bound_max_mean"].get<double>();
        INFO("topk " << topk["max_mean_load"] << " nash " << nash["max_mean_load"] << " bound " << bound);
        CHECK(bound >= 1.0);
        CHECK(nash["max_mean_load"].get<double>() >= bound - 1e-9);  // a bound no router beats
        // nash balances up to its slack (1.10 x balanced), or to within 5% of the bound above it.
        CHECK(nash["max_mean_load"].get<double>() <= std::max(1.10, 1.05 * bound));
        CHECK(topk["max_mean_load"].get<double>() > 2.0);
        if (std::string(skew) == "0.3") CHECK(nash["max_mean_load"].get<double>() <= 1.10);
    }
}

// The goal on a moefied real model: 8 experts, top-2, the whole held-out text.
TEST_CASE("nash on a least-squares moefied tinystories-5M: balanced, same cache hits, within 2% perplexity", "[moe]") {
    if (!testing::have_shared("models/tinystories-5M/tinystories-5M-F32.gguf")) return;
    const std::string dir = testing::temp_dir("route_bench_goal");
    const auto made = testing::run_cli("moefy " + testing::shared_path("models/tinystories-5M/tinystories-5M-F32.gguf") +
                                       " " + dir + "/moe.gguf --experts 8 --top-k 2 --calib " +
                                       testing::shared_path("data/tinystories/train.txt"));
    INFO(made.err);
    REQUIRE(made.exit_code == 0);
    const auto r = testing::run_cli("route-bench -m " + dir + "/moe.gguf -f " +
                                    testing::shared_path("data/tinystories/heldout.txt") +
                                    " -c 128 --chunks 0 --routers topk,nash --json");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const auto j = nlohmann::json::parse(r.out);
    const auto topk = router_named(j, "topk"), nash = router_named(j, "nash");
    const double ppl_topk = topk["perplexity"].get<double>(), ppl_nash = nash["perplexity"].get<double>();
    INFO("max/mean topk " << topk["max_mean_load"] << " nash " << nash["max_mean_load"] << "; perplexity topk "
                          << ppl_topk << " nash " << ppl_nash);
    CHECK(topk["max_mean_load"].get<double>() > 1.10);
    CHECK(nash["max_mean_load"].get<double>() <= 1.10);
    CHECK(ppl_nash <= 1.02 * ppl_topk);
    CHECK(nash["cache_hit_l3"].get<double>() >= topk["cache_hit_l3"].get<double>());
    CHECK(ppl_topk < 30.0);  // the centroid router's 40.5; the dense model's 6.3 at this context
}
