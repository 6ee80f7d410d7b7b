#pragma once
// Output files appear whole or not at all: bytes go to OUT.tmp-XXXXXX in the destination folder
// and are renamed onto OUT by commit(). Destroying an uncommitted writer removes the temporary.
#include <cstddef>
#include <cstdint>
#include <string>

namespace dilmodeli {

class AtomicFileWriter {
public:
    // Refuses (Error Usage) an output that is the same file as `must_differ_from`, when given.
    explicit AtomicFileWriter(const std::string& path, const std::string& must_differ_from = "");
    ~AtomicFileWriter();
    AtomicFileWriter(const AtomicFileWriter&) = delete;
    AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

    void write(const void* data, size_t size);
    void write_zeros(size_t count);
    uint64_t bytes_written() const { return written_; }
    // Flushes, syncs and renames onto the final path.
    void commit();
    const std::string& path() const { return path_; }
    const std::string& temp_path() const { return temp_path_; }

private:
    void flush_buffer();

    std::string path_;
    std::string temp_path_;
    int fd_ = -1;
    bool committed_ = false;
    bool direct_ = false;  // writing straight into a device or pipe
    uint64_t written_ = 0;
    int pending_slot_ = -1;  // entry in the SIGINT clean-up table
    std::string buffer_;
};

// The checks the writer makes before it writes, made up front, so that a long job (quantizing,
// calibrating) fails at once on an output it could never write: empty path, OUT == IN (Error
// Usage), a directory, a missing or read-only destination folder (Error Io).
void check_output_path(const std::string& path, const std::string& must_differ_from = "");

// True when both paths name the same existing file (same device and inode).
bool same_file(const std::string& a, const std::string& b);

// Every temporary file of a live writer, so that a SIGINT handler can remove them.
void remove_pending_temporaries() noexcept;

}  // namespace dilmodeli
