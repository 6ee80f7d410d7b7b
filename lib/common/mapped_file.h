#pragma once
// A read-only memory mapping of a whole file. Tensors are views into it, so a model is never
// copied into the heap. The file also stays open for reads that should not map pages into the
// process (rows picked at random from a large table, where fault-around would map 64 KiB a row).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace dilmodeli {

// How a file's bytes are made resident. Mapped shares the kernel's page cache. Copied reads the
// file into anonymous memory (huge pages where the kernel allows), as llama.cpp's --no-mmap
// does: slower to open and not shared between processes, but where page-cache mappings are
// slow to stream from (measured in VMs) the weights are read faster.
enum class Residency { Mapped, Copied };

class MappedFile {
public:
    // Throws Error(BadInput) for a missing file, a directory or an empty file, Error(Io) otherwise.
    explicit MappedFile(const std::string& path, Residency residency = Residency::Mapped);
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

private:
    MappedFile() = default;
    std::string path_;
    bool owns_mapping_ = false;
    void* mapping_ = nullptr;  // what to unmap (copies are aligned inside theirs)
    size_t mapping_bytes_ = 0;
    int fd_ = -1;  // open while mapped, for read()
    const uint8_t* data_ = nullptr;
    size_t size_ = 0;
};

}  // namespace dilmodeli
