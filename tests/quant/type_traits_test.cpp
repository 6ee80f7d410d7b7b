// Every type's conventions, as llama.cpp and our profiler apply them, pinned per type: the float
// types, the fallback for rows a block does not divide, the output head's type, general.file_type,
// the quality ladder a mixture chooses among, and the smaller types the profiler suggests.
#include <catch2/catch.hpp>

#include <algorithm>
#include <regex>
#include <string>
#include <vector>

#include "compress/mixed_precision.h"
#include "compress/tensor_roles.h"
#include "profile/recommendations.h"
#include "quant/quant_type.h"

using namespace dilmodeli;
using quant::TypeId;

namespace {

struct Expected {
    TypeId id;
    bool is_float;
    TypeId fallback_96;  // for rows of 96: 32-blocks fit, 256-blocks do not
    TypeId output;
    uint32_t file_type;
    std::vector<std::string> suggested;  // the profiler's smaller types, most conservative first
};

const std::vector<Expected>& expected() {
    using T = TypeId;
    static const std::vector<Expected> rows = {
        {T::F32, true, T::F32, T::F32, 0, {"F16", "Q8_0"}},
        {T::F16, true, T::F16, T::F16, 1, {"Q8_0", "Q4_0"}},
        {T::Q4_0, false, T::Q4_0, T::Q6_K, 2, {"Q3_K", "Q2_K"}},
        {T::Q4_1, false, T::Q4_1, T::Q6_K, 3, {"Q3_K", "Q2_K"}},
        {T::Q5_0, false, T::Q5_0, T::Q6_K, 8, {"Q4_K", "Q4_0"}},
        {T::Q5_1, false, T::Q5_1, T::Q6_K, 9, {"Q4_K", "Q4_0"}},
        {T::Q8_0, false, T::Q8_0, T::Q8_0, 7, {"Q6_K", "Q4_0"}},
        {T::Q8_1, false, T::Q8_1, T::Q8_1, compress::kFileTypeMixed, {}},
        {T::Q2_K, false, T::IQ4_NL, T::Q6_K, 10, {}},
        {T::Q3_K, false, T::IQ4_NL, T::Q6_K, 11, {}},
        {T::Q4_K, false, T::Q5_0, T::Q6_K, 14, {"Q3_K", "Q2_K"}},
        {T::Q5_K, false, T::Q5_1, T::Q6_K, 16, {"Q4_K", "Q4_0"}},
        {T::Q6_K, false, T::Q8_0, T::Q6_K, 18, {"Q4_K", "Q4_0"}},
        {T::Q8_K, false, T::F16, T::Q8_K, compress::kFileTypeMixed, {}},
        {T::IQ4_NL, false, T::IQ4_NL, T::Q6_K, 25, {"Q3_K", "Q2_K"}},
        {T::BF16, true, T::BF16, T::BF16, 32, {"Q8_0", "Q4_0"}},
        {T::TQ1_0, false, T::IQ4_NL, T::Q6_K, 36, {}},
        {T::TQ2_0, false, T::IQ4_NL, T::Q6_K, 37, {}},
    };
    return rows;
}

// The types the profiler names when generation's matrix products are bandwidth-bound.
std::vector<std::string> suggested_smaller_types(const std::string& model_type) {
    profile::ProfileReport r;
    r.model_type = model_type;
    profile::OpRow matmul;
    matmul.op = "matmul";
    matmul.seconds = 1;
    matmul.share = 0.9;
    matmul.weight_bytes = uint64_t(1) << 30;
    r.generation.ops = {matmul};
    r.roofline.level = "DRAM";
    r.roofline.level_gb_per_s = 1.0;  // 1.07 GB/s read: bandwidth-bound
    r.weight_bytes_per_generated_token = matmul.weight_bytes;
    std::vector<std::string> names;
    for (const profile::Recommendation& rec : profile::recommend(r)) {
        if (rec.topic != "quant_type") continue;
        const std::regex candidate(" ([A-Z0-9_]+): [0-9.]+ MiB per token");
        for (auto it = std::sregex_iterator(rec.advice.begin(), rec.advice.end(), candidate);
             it != std::sregex_iterator(); ++it)
            names.push_back((*it)[1]);
    }
    return names;
}

}  // namespace

TEST_CASE("type traits: every registered type has its conventions pinned", "[quant][traits]") {
    REQUIRE(quant::all_types().size() == expected().size());
    for (const Expected& e : expected()) {
        const quant::TypeInfo& t = quant::type_info(e.id);
        INFO(t.name);
        CHECK(compress::fallback_type(e.id, 96) == e.fallback_96);
        CHECK(compress::fallback_type(e.id, 256) == e.id);
        CHECK(compress::fallback_type(e.id, 33) == (t.block_size == 1 ? e.id : TypeId::F16));
        CHECK(compress::output_type_for(e.id) == e.output);
        CHECK(compress::llama_file_type(e.id) == e.file_type);
        CHECK(suggested_smaller_types(t.name) == e.suggested);
    }
}

TEST_CASE("type traits: the profiler suggests nothing for a type it does not know", "[quant][traits]") {
    CHECK(suggested_smaller_types("q4_0").empty());  // names are matched as the file spells them
    CHECK(suggested_smaller_types("Q7_X").empty());
}

TEST_CASE("type traits: a mixture chooses along the quality ladder, smallest first", "[quant][traits]") {
    const std::vector<TypeId> ladder = {TypeId::TQ1_0, TypeId::Q2_K, TypeId::Q3_K, TypeId::Q4_0, TypeId::Q4_K,
                                        TypeId::Q5_K,  TypeId::Q6_K, TypeId::Q8_0, TypeId::F16};
    CHECK(compress::default_mixed_types() == ladder);
}

TEST_CASE("type traits: the registry's columns agree with each other", "[quant][traits]") {
    const std::vector<TypeId> ladder = quant::quality_ladder();
    for (const quant::TypeInfo& t : quant::all_types()) {
        INFO(t.name);
        CHECK(t.is_float == (t.block_size == 1));
        const quant::TypeInfo& fallback = quant::type_info(t.fallback);
        CHECK(fallback.block_size <= t.block_size);
        if (t.is_float) CHECK(t.fallback == t.id);
        // The ladder links both ways and climbs in bits.
        if (t.smaller != t.id) {
            CHECK(quant::type_info(t.smaller).larger == t.id);
            CHECK(quant::type_info(t.smaller).bits_per_weight() <= t.bits_per_weight());
        }
        if (t.larger != t.id) CHECK(quant::type_info(t.larger).smaller == t.id);
        const bool on_ladder = std::find(ladder.begin(), ladder.end(), t.id) != ladder.end();
        CHECK(on_ladder == (t.smaller != t.id || t.larger != t.id));
        // What the profiler suggests is smaller and can be produced.
        for (TypeId s : quant::suggested_smaller_types(t.id)) {
            CHECK(quant::type_info(s).bits_per_weight() < t.bits_per_weight());
            CHECK(quant::type_info(s).quantize_row != nullptr);
        }
    }
}
