#pragma once
// A read-only memory mapping of a whole file. Tensors are views into it, so a model is never
// copied into the heap. The file also stays open for reads that should not map pages into the
// process (rows picked at random from a large table, where fault-around would map 64 KiB a row).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/huge_page_region.h"

namespace dilmodeli {

// How a file's bytes are made resident. Mapped shares the kernel's page cache. Copied reads the
// file into anonymous memory with huge pages, as llama.cpp's --no-mmap does: slower to open and
// not shared between processes, but streamed from faster wherever the page cache holds the
// file in 4 KiB pages, which depends on how the file got there (measured in docs/RESULTS.md).
// Auto is Copied where that is safe (choose_residency), Mapped elsewhere.
enum class Residency { Mapped, Copied, Auto };

// What Auto means: Copied when anonymous memory can have transparent huge pages and the file
// takes at most half of the available memory (the page cache may hold a second copy); Mapped
// otherwise.
Residency choose_residency(uint64_t file_bytes, uint64_t available_bytes, bool huge_pages);
// `requested`, with Auto decided by this machine's /sys/kernel/mm/transparent_hugepage/enabled
// and MemAvailable in /proc/meminfo (Mapped where either cannot be read).
Residency resolve_residency(Residency requested, uint64_t file_bytes);

// Bytes [offset, offset + size) of a file.
struct ByteRange {
    uint64_t offset = 0;
    uint64_t size = 0;
};

class MappedFile {
public:
    // Throws Error(BadInput) for a missing file, a directory or an empty file, Error(Io) otherwise.
    explicit MappedFile(const std::string& path, Residency residency = Residency::Mapped);
    // Replaces the mapping with a copy in anonymous memory (huge pages requested), leaving out
    // the whole pages inside `left_out`: they stay inaccessible, so a stray read faults instead
    // of seeing zeros; read() still gives their bytes. For a table only read a row at a time.
    // Throws Error(Io) if the file cannot be read; the mapping then stays as it was.
    void copy_into_memory(const std::vector<ByteRange>& left_out = {});
    bool is_copy() const { return copy_.data() != nullptr; }
    // Lets edit(bytes) rewrite the bytes of `ranges` in memory, bytes being the start of the file.
    // A copy is writable; a mapping is made writable there (and in the rest of their pages), and
    // read-only again afterwards. The file is never written: its mapping is private, so a written
    // page becomes the process's own in place of the page cache's (memory stays one copy of the
    // file), though in 4 KiB pages. Error(Usage) for views, Error(Io) if the protection cannot
    // change.
    void rewrite(const std::vector<ByteRange>& ranges, const std::function<void(uint8_t* bytes)>& edit);
    // A view of bytes already in memory, named `name` in messages (for fuzzing and tests).
    // The bytes must outlive the object.
    static std::unique_ptr<MappedFile> view(const uint8_t* data, size_t size, const std::string& name);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const uint8_t* data() const { return data_; }
    size_t size() const { return size_; }
    const std::string& path() const { return path_; }
    // Copies bytes [offset, offset + n) of the file into dst with read(2), not through the
    // mapping (a memcpy for views). Error(Io) if the file has shrunk or cannot be read.
    void read(uint64_t offset, size_t n, uint8_t* dst) const;
    // Asks the kernel to start reading `range` into the page cache, without waiting for it
    // (posix_fadvise WILLNEED, one call per read-ahead window of the device, for the pieces not
    // cached yet): later reads of it, through the mapping or read(), then find it there instead
    // of waiting on the disk one page at a time. Advice only; nothing for views.
    void read_ahead(ByteRange range) const;

private:
    MappedFile() = default;
    std::string path_;
    void* mapping_ = nullptr;  // the file's mapping (size_ bytes); null in views and once copied
    HugePageRegion copy_;
    int fd_ = -1;  // open for read(), except in views
    const uint8_t* data_ = nullptr;
    size_t size_ = 0;
};

}  // namespace dilmodeli
