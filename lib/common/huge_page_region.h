#pragma once
// Anonymous read-write memory that the kernel may back with 2 MiB pages: the start is aligned to
// 2 MiB and the size rounded up to a multiple of it, then MADV_HUGEPAGE is advised. Streaming a
// large buffer is faster from huge pages (fewer page-table walks missing the caches); measured
// in docs/RESULTS.md for model copies. Where huge pages are off the advice is ignored and this
// is plain zeroed memory.
#include <cstddef>
#include <cstdint>

namespace dilmodeli {

class HugePageRegion {
public:
    static constexpr size_t kHugePage = size_t(2) << 20;

    HugePageRegion() = default;
    // At least `bytes` bytes (rounded up to whole huge pages). Throws std::system_error if the
    // kernel refuses the mapping.
    explicit HugePageRegion(size_t bytes);
    ~HugePageRegion();
    HugePageRegion(HugePageRegion&& other) noexcept;
    HugePageRegion& operator=(HugePageRegion&& other) noexcept;
    HugePageRegion(const HugePageRegion&) = delete;
    HugePageRegion& operator=(const HugePageRegion&) = delete;

    uint8_t* data() const { return data_; }
    size_t size() const { return size_; }  // usable bytes: a multiple of kHugePage

private:
    void release();
    void* mapping_ = nullptr;  // what to unmap: one huge page larger than size_, for the alignment
    size_t mapping_bytes_ = 0;
    uint8_t* data_ = nullptr;
    size_t size_ = 0;
};

}  // namespace dilmodeli
