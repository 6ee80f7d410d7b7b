#pragma once
// A read-only memory mapping of a whole file. Tensors are views into it, so a model is never
// copied into the heap. The file also stays open for reads that should not map pages into the
// process (rows picked at random from a large table, where fault-around would map 64 KiB a row).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace dilmodeli {

class MappedFile {
public:
    // Throws Error(BadInput) for a missing file, a directory or an empty file, Error(Io) otherwise.
    explicit MappedFile(const std::string& path);
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
    int fd_ = -1;
    const uint8_t* data_ = nullptr;
    size_t size_ = 0;
};

}  // namespace dilmodeli
