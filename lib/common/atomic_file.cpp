#include "common/atomic_file.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "common/error.h"

namespace dilmodeli {
namespace {

constexpr size_t kBufferSize = 1 << 20;

// Fixed-size table so that the signal handler reads no heap structure being modified.
constexpr int kMaxPending = 16;
char g_pending[kMaxPending][4096];
std::atomic<bool> g_pending_used[kMaxPending];

int register_pending(const std::string& path) {
    for (int i = 0; i < kMaxPending; ++i) {
        bool expected = false;
        if (g_pending_used[i].compare_exchange_strong(expected, true)) {
            std::strncpy(g_pending[i], path.c_str(), sizeof(g_pending[i]) - 1);
            g_pending[i][sizeof(g_pending[i]) - 1] = '\0';
            return i;
        }
    }
    return -1;
}

void unregister_pending(int slot) {
    if (slot >= 0) g_pending_used[slot].store(false);
}

std::string directory_of(const std::string& path) {
    auto slash = path.find_last_of('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

}  // namespace

bool same_file(const std::string& a, const std::string& b) {
    struct stat sa {}, sb {};
    if (::stat(a.c_str(), &sa) != 0 || ::stat(b.c_str(), &sb) != 0) return false;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

void remove_pending_temporaries() noexcept {
    for (int i = 0; i < kMaxPending; ++i)
        if (g_pending_used[i].load()) ::unlink(g_pending[i]);
}

void check_output_path(const std::string& path, const std::string& must_differ_from) {
    if (path.empty()) throw usage_error("output path is empty");
    if (!must_differ_from.empty() && (path == must_differ_from || same_file(path, must_differ_from)))
        throw usage_error(path + ": output would overwrite the input file; choose another path");
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) {
        if (S_ISDIR(st.st_mode)) throw io_error(path, "output path is a directory");
        if (!S_ISREG(st.st_mode)) return;  // a device or pipe, written directly
    }
    const std::string directory = directory_of(path);
    if (::stat(directory.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        throw io_error(path, "cannot create a file in " + directory + ": no such directory");
    if (::access(directory.c_str(), W_OK) != 0) {
        int err = errno;
        throw io_error(path, "cannot create a file in " + directory + ": " + std::strerror(err));
    }
}

AtomicFileWriter::AtomicFileWriter(const std::string& path, const std::string& must_differ_from)
    : path_(path) {
    check_output_path(path, must_differ_from);
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
        // A device or pipe (/dev/null, /dev/full, a FIFO) cannot be replaced by a rename: write
        // to it directly.
        fd_ = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
        if (fd_ < 0) {
            int err = errno;
            throw io_error(path, std::string("cannot open for writing: ") + std::strerror(err));
        }
        direct_ = true;
        buffer_.reserve(kBufferSize);
        return;
    }
    std::string pattern = path + ".tmp-XXXXXX";
    std::vector<char> name(pattern.begin(), pattern.end());
    name.push_back('\0');
    fd_ = ::mkstemp(name.data());
    if (fd_ < 0) {
        int err = errno;
        throw io_error(path, std::string("cannot create a file in ") + directory_of(path) + ": " +
                                 std::strerror(err));
    }
    ::fchmod(fd_, 0644);
    temp_path_ = name.data();
    pending_slot_ = register_pending(temp_path_);
    buffer_.reserve(kBufferSize);
}

AtomicFileWriter::~AtomicFileWriter() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_ && !temp_path_.empty()) ::unlink(temp_path_.c_str());
    unregister_pending(pending_slot_);
}

void AtomicFileWriter::flush_buffer() {
    const char* p = buffer_.data();
    size_t left = buffer_.size();
    while (left > 0) {
        ssize_t n = ::write(fd_, p, left);
        if (n < 0) {
            if (errno == EINTR) continue;
            int err = errno;
            throw io_error(path_, std::string("write failed: ") + std::strerror(err));
        }
        p += n;
        left -= static_cast<size_t>(n);
    }
    buffer_.clear();
}

void AtomicFileWriter::write(const void* data, size_t size) {
    const char* p = static_cast<const char*>(data);
    written_ += size;
    if (buffer_.size() + size > kBufferSize) flush_buffer();
    if (size >= kBufferSize) {
        buffer_.assign(p, size);
        flush_buffer();
        return;
    }
    buffer_.append(p, size);
}

void AtomicFileWriter::write_zeros(size_t count) {
    static const char zeros[256] = {};
    while (count > 0) {
        size_t n = count < sizeof(zeros) ? count : sizeof(zeros);
        write(zeros, n);
        count -= n;
    }
}

void AtomicFileWriter::commit() {
    flush_buffer();
    if (direct_) {
        if (::close(fd_) != 0) {
            int err = errno;
            fd_ = -1;
            throw io_error(path_, std::string("close failed: ") + std::strerror(err));
        }
        fd_ = -1;
        committed_ = true;
        return;
    }
    if (::fsync(fd_) != 0) {
        int err = errno;
        // /dev/full-like targets and some pseudo file systems cannot sync; only real errors matter.
        if (err != EINVAL && err != EROFS)
            throw io_error(path_, std::string("sync failed: ") + std::strerror(err));
    }
    if (::close(fd_) != 0) {
        int err = errno;
        fd_ = -1;
        throw io_error(path_, std::string("close failed: ") + std::strerror(err));
    }
    fd_ = -1;
    if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
        int err = errno;
        throw io_error(path_, std::string("cannot rename temporary file into place: ") +
                                  std::strerror(err));
    }
    committed_ = true;
    unregister_pending(pending_slot_);
    pending_slot_ = -1;
}

}  // namespace dilmodeli
