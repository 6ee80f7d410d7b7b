#include "common/huge_page_region.h"

#include <sys/mman.h>

#include <cerrno>
#include <system_error>
#include <utility>

namespace dilmodeli {

HugePageRegion::HugePageRegion(size_t bytes) {
    size_ = (bytes + kHugePage - 1) / kHugePage * kHugePage;
    // mmap only promises 4 KiB alignment; one spare huge page lets the start be moved up to the
    // next 2 MiB boundary, where the kernel can place a huge page.
    mapping_bytes_ = size_ + kHugePage;
    void* mapping = ::mmap(nullptr, mapping_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapping == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "mmap");
    mapping_ = mapping;
    const uintptr_t start = reinterpret_cast<uintptr_t>(mapping);
    data_ = reinterpret_cast<uint8_t*>((start + kHugePage - 1) / kHugePage * kHugePage);
    ::madvise(data_, size_, MADV_HUGEPAGE);  // advice only: ignored where huge pages are off
}

HugePageRegion::~HugePageRegion() { release(); }

HugePageRegion::HugePageRegion(HugePageRegion&& other) noexcept
    : mapping_(std::exchange(other.mapping_, nullptr)),
      mapping_bytes_(std::exchange(other.mapping_bytes_, 0)),
      data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

HugePageRegion& HugePageRegion::operator=(HugePageRegion&& other) noexcept {
    if (this != &other) {
        release();
        mapping_ = std::exchange(other.mapping_, nullptr);
        mapping_bytes_ = std::exchange(other.mapping_bytes_, 0);
        data_ = std::exchange(other.data_, nullptr);
        size_ = std::exchange(other.size_, 0);
    }
    return *this;
}

void HugePageRegion::release() {
    if (mapping_) ::munmap(mapping_, mapping_bytes_);
    mapping_ = nullptr;
    mapping_bytes_ = 0;
    data_ = nullptr;
    size_ = 0;
}

}  // namespace dilmodeli
