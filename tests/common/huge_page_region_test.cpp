#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <utility>

#include "common/huge_page_region.h"

using dilmodeli::HugePageRegion;

TEST_CASE("a huge-page region is 2 MiB-aligned, rounded up to whole huge pages and writable", "[common]") {
    constexpr size_t kHuge = HugePageRegion::kHugePage;
    for (size_t bytes : {size_t(1), kHuge - 1, kHuge, kHuge + 1, 3 * kHuge + 12345}) {
        HugePageRegion region(bytes);
        REQUIRE(region.data() != nullptr);
        CHECK(reinterpret_cast<uintptr_t>(region.data()) % kHuge == 0);
        CHECK(region.size() % kHuge == 0);
        CHECK(region.size() >= bytes);
        CHECK(region.size() < bytes + kHuge);
        // Every byte up to size() is ours: fresh anonymous memory reads as zeros and takes writes.
        CHECK(region.data()[0] == 0);
        CHECK(region.data()[region.size() - 1] == 0);
        std::memset(region.data(), 0xA5, region.size());
        CHECK(region.data()[region.size() - 1] == 0xA5);
    }
}

TEST_CASE("moving a huge-page region hands over its memory and empties the source", "[common]") {
    HugePageRegion first(100);
    uint8_t* data = first.data();
    data[7] = 42;
    HugePageRegion second(std::move(first));
    CHECK(first.data() == nullptr);
    CHECK(first.size() == 0);
    CHECK(second.data() == data);
    CHECK(second.data()[7] == 42);
    HugePageRegion third;
    third = std::move(second);
    CHECK(second.data() == nullptr);
    CHECK(third.data() == data);
    CHECK(third.data()[7] == 42);
}
