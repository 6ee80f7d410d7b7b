#include <catch2/catch.hpp>

#include <cmath>

#include "compress/calibration.h"
#include "model/model.h"
#include "support/shared_data.h"

using namespace dilmodeli;
using namespace dilmodeli::testing;

TEST_CASE("calibration gathers per-column activation energy for every weight matrix", "[compress][calibration]") {
    if (!have_shared("models/stories260K/stories260K.gguf")) return;
    auto model = model::Model::load(shared_path("models/stories260K/stories260K.gguf"));
    compress::CalibrationOptions options;
    options.ctx = 64;
    options.max_chunks = 4;
    auto stats = compress::collect_activation_stats_from_file(
        *model, shared_path("data/tinystories/heldout.txt"), options);
    CHECK(stats.tokens == 256);
    // 7 matrices per layer x 5 layers + the output head (token_embd is looked up, not multiplied).
    CHECK(stats.mean_square.size() == 36);
    const auto& down = stats.mean_square.at("blk.0.ffn_down.weight");
    REQUIRE(down.size() == 172);
    const auto& q = stats.mean_square.at("blk.2.attn_q.weight");
    REQUIRE(q.size() == 64);
    // q, k and v see the same normalised input.
    CHECK(q == stats.mean_square.at("blk.2.attn_v.weight"));
    for (float v : q) {
        CHECK(std::isfinite(v));
        CHECK(v > 0);
    }
    // The statistics depend on the text: a different text gives different energies.
    auto other = compress::collect_activation_stats_from_file(
        *model, shared_path("data/wikitext-2-raw/wiki.test.raw"), options);
    CHECK(other.mean_square.at("blk.2.attn_q.weight") != q);
}
