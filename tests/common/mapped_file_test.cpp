#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

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
    // The rest stays writable for MappedFile::rewrite (protecting it would split huge pages).
    CHECK(permissions_at(file.data() + 8191).substr(0, 2) == "rw");
    CHECK(permissions_at(file.data() + 16384).substr(0, 2) == "rw");
    std::vector<uint8_t> left_out(8192);
    file.read(8192, left_out.size(), left_out.data());
    CHECK(std::memcmp(left_out.data(), bytes.data() + 8192, left_out.size()) == 0);
    CHECK_THROWS_WITH(file.copy_into_memory(), Catch::Contains("only a mapped file"));

    MappedFile whole(path, Residency::Copied);
    REQUIRE(whole.is_copy());
    CHECK(std::memcmp(whole.data(), bytes.data(), bytes.size()) == 0);
}

TEST_CASE("rewrite changes bytes in memory, never the file, and refuses views", "[common]") {
    const std::string path = temp_dir("mapped-file") + "/rewrite.bin";
    const std::string bytes(3 * 4096, 'a');
    std::ofstream(path, std::ios::binary) << bytes;
    for (Residency residency : {Residency::Mapped, Residency::Copied}) {
        MappedFile file(path, residency);
        file.rewrite({{4000, 200}}, [](uint8_t* at) { std::memset(at + 4000, 'b', 200); });
        CHECK(file.data()[3999] == 'a');
        CHECK(file.data()[4000] == 'b');
        CHECK(file.data()[4199] == 'b');
        CHECK(file.data()[4200] == 'a');
        // A mapping is read-only again afterwards.
        if (residency == Residency::Mapped) CHECK(permissions_at(file.data() + 4000).substr(0, 2) == "r-");
        std::vector<uint8_t> on_disk(200);
        file.read(4000, on_disk.size(), on_disk.data());
        CHECK(std::string(on_disk.begin(), on_disk.end()) == std::string(200, 'a'));
        CHECK_THROWS_WITH(file.rewrite({{4096, 3 * 4096}}, [](uint8_t*) {}), Catch::Contains("past the end"));
    }
    std::ifstream in(path, std::ios::binary);
    CHECK(std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()) == bytes);
    const auto view = MappedFile::view(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "bytes");
    CHECK_THROWS_WITH(view->rewrite({{0, 1}}, [](uint8_t*) {}), Catch::Contains("cannot be rewritten"));
}

namespace {

// How many of the pages of [offset, offset + bytes) of the file at `path` the page cache holds.
size_t pages_in_page_cache(const std::string& path, size_t offset, size_t bytes) {
    MappedFile probe(path);
    const size_t page = 4096;
    std::vector<unsigned char> resident(bytes / page);
    void* at = const_cast<uint8_t*>(probe.data() + offset);
    if (::mincore(at, bytes, resident.data()) != 0) return SIZE_MAX;
    size_t n = 0;
    for (unsigned char r : resident) n += r & 1;
    return n;
}

}  // namespace

namespace {

// Writes `pages` pages of bytes to `path` and drops them from the page cache; false where the
// file system keeps them anyway (tmpfs), so read-ahead cannot be observed.
bool write_uncached(const std::string& path, size_t pages) {
    {
        std::string bytes(pages * 4096, 'x');
        std::ofstream(path, std::ios::binary) << bytes;
    }
    const int fd = ::open(path.c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
    ::fdatasync(fd);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
    return pages_in_page_cache(path, 0, pages * 4096) <= pages / 2;
}

// Polls until the page cache holds all pages of the range (the read is asynchronous), at most 4 s.
size_t wait_for_pages(const std::string& path, size_t offset, size_t pages) {
    size_t in_cache = 0;
    for (int wait = 0; wait < 400 && in_cache < pages; ++wait) {
        in_cache = pages_in_page_cache(path, offset, pages * 4096);
        if (in_cache < pages) ::usleep(10000);
    }
    return in_cache;
}

}  // namespace

TEST_CASE("read_ahead brings a range of a file into the page cache", "[common]") {
    // A file on disk (the build tree), dropped from the page cache after writing.
    const std::string path = temp_dir("mapped-file-read-ahead") + "/read-ahead.bin";
    const size_t page = 4096, pages = 512;
    if (!write_uncached(path, pages)) {
        WARN("the page cache kept " << path << " after POSIX_FADV_DONTNEED; read_ahead not observable here");
        return;
    }
    MappedFile file(path);
    file.read_ahead({64 * page, 128 * page});
    file.read_ahead({pages * page - 10, 1000});  // past the end: clipped, no error
    CHECK(wait_for_pages(path, 64 * page, 128) == 128);
    CHECK(pages_in_page_cache(path, 256 * page, 128 * page) < 128);  // only what was asked for
}

TEST_CASE("read_ahead brings in a range many read-ahead windows long", "[common]") {
    // Linux reads one device read-ahead window per WILLNEED call (8 MiB on this kind of
    // machine, 128 KiB on many): a 40 MiB range needs a call per window.
    const std::string path = temp_dir("mapped-file-read-ahead-long") + "/read-ahead-long.bin";
    const size_t page = 4096, pages = 12 * 1024;  // 48 MiB
    if (!write_uncached(path, pages)) {
        WARN("the page cache kept " << path << " after POSIX_FADV_DONTNEED; read_ahead not observable here");
        return;
    }
    MappedFile file(path);
    const size_t first = 1000, count = 10 * 1024;  // not on a window boundary
    file.read_ahead({first * page + 100, count * page - 100});
    CHECK(wait_for_pages(path, first * page, count) == count);
    CHECK(pages_in_page_cache(path, (first + count + 256) * page, 256 * page) < 256);
    // A range already cached: nothing to do, and no error.
    file.read_ahead({first * page, count * page});
    CHECK(pages_in_page_cache(path, first * page, count * page) == count);
}
