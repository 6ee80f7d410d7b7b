#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/mapped_file.h"
#include "support/shared_data.h"

using namespace dilmodeli;
using dilmodeli::testing::temp_dir;

namespace {

// The permissions column of /proc/self/maps ("r--p", "---p", ...) for the region holding p.
std::string permissions_at(const void* p) {
    const auto at = reinterpret_cast<uintptr_t>(p);
    std::ifstream maps("/proc/self/maps");
    std::string line;
    while (std::getline(maps, line)) {
        std::istringstream fields(line);
        std::string range, perms;
        fields >> range >> perms;
        const size_t dash = range.find('-');
        const uintptr_t begin = std::stoull(range.substr(0, dash), nullptr, 16);
        const uintptr_t end = std::stoull(range.substr(dash + 1), nullptr, 16);
        if (at >= begin && at < end) return perms;
    }
    return "";
}

}  // namespace

TEST_CASE("Auto copies a file into memory only with huge pages and room to spare", "[common]") {
    CHECK(choose_residency(100, 1000, true) == Residency::Copied);
    CHECK(choose_residency(500, 1000, true) == Residency::Copied);
    CHECK(choose_residency(501, 1000, true) == Residency::Mapped);
    CHECK(choose_residency(100, 1000, false) == Residency::Mapped);
    CHECK(choose_residency(100, 0, true) == Residency::Mapped);  // MemAvailable unreadable
    CHECK(resolve_residency(Residency::Mapped, 1) == Residency::Mapped);
    CHECK(resolve_residency(Residency::Copied, uint64_t(1) << 50) == Residency::Copied);
    const Residency chosen = resolve_residency(Residency::Auto, 4096);
    CHECK((chosen == Residency::Mapped || chosen == Residency::Copied));
}

TEST_CASE("a copy in memory holds the file's bytes, without the pages left out", "[common]") {
    const std::string path = temp_dir("mapped-file") + "/bytes.bin";
    std::string bytes(5 * 4096 + 100, '\0');
    std::mt19937 rng(7);
    for (char& c : bytes) c = char(rng());
    std::ofstream(path, std::ios::binary) << bytes;

    MappedFile file(path);
    REQUIRE_FALSE(file.is_copy());
    const uint8_t* mapped = file.data();
    // [4106, 16394) holds whole pages [8192, 16384); the partial pages around them are copied.
    file.copy_into_memory({{4096 + 10, 3 * 4096}});
    REQUIRE(file.is_copy());
    CHECK(file.data() != mapped);
    CHECK(reinterpret_cast<uintptr_t>(file.data()) % (uintptr_t(2) << 20) == 0);
    CHECK(std::memcmp(file.data(), bytes.data(), 8192) == 0);
    CHECK(std::memcmp(file.data() + 16384, bytes.data() + 16384, bytes.size() - 16384) == 0);
    CHECK(permissions_at(file.data() + 8192) == "---p");
    CHECK(permissions_at(file.data() + 16383) == "---p");
    CHECK(permissions_at(file.data() + 8191).substr(0, 2) == "r-");
    CHECK(permissions_at(file.data() + 16384).substr(0, 2) == "r-");
    std::vector<uint8_t> left_out(8192);
    file.read(8192, left_out.size(), left_out.data());
    CHECK(std::memcmp(left_out.data(), bytes.data() + 8192, left_out.size()) == 0);
    CHECK_THROWS_WITH(file.copy_into_memory(), Catch::Contains("only a mapped file"));

    MappedFile whole(path, Residency::Copied);
    REQUIRE(whole.is_copy());
    CHECK(std::memcmp(whole.data(), bytes.data(), bytes.size()) == 0);
}
