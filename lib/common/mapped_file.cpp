#include "common/mapped_file.h"

#include <tbb/parallel_for.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <system_error>
#include <utility>

#include "common/error.h"

namespace dilmodeli {

namespace {

// Reads exactly n bytes at `offset`, retrying short reads and interruptions.
void pread_all(int fd, uint64_t offset, size_t n, uint8_t* dst, const std::string& path) {
    while (n > 0) {
        const ssize_t got = ::pread(fd, dst, n, off_t(offset));
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) throw io_error(path, std::string("cannot read: ") + std::strerror(errno));
        if (got == 0) throw io_error(path, "file shrank while in use: no bytes at offset " + std::to_string(offset));
        dst += got;
        offset += uint64_t(got);
        n -= size_t(got);
    }
}

constexpr size_t kPage = 4096;

// The first line of `path`, or "" if it cannot be read.
std::string first_line(const char* path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

constexpr uint64_t kDefaultReadAheadWindow = uint64_t(128) << 10;  // the kernel's default

// The most one POSIX_FADV_WILLNEED call reads of a file on device `dev`. Linux caps each call
// at the larger of the device's read-ahead window and its largest request (read_ahead_kb and
// max_sectors_kb; 128 KiB or so on many machines): one call for a whole 49 MiB table brought in
// only its first 8 MiB here. Where the device's queue cannot be read (tmpfs, overlayfs, btrfs),
// 128 KiB, the kernel's default window.
uint64_t read_ahead_window(dev_t dev) {
    const std::string device = "/sys/dev/block/" + std::to_string(major(dev)) + ":" + std::to_string(minor(dev));
    uint64_t kib = 0;
    for (const char* queue : {"/queue/", "/../queue/"})  // a whole disk, or a partition of one
        for (const char* limit : {"read_ahead_kb", "max_sectors_kb"})
            kib = std::max<uint64_t>(kib, std::strtoull(first_line((device + queue + limit).c_str()).c_str(), nullptr, 10));
    return kib > 0 ? kib << 10 : kDefaultReadAheadWindow;
}

// Which pages of [offset, offset + size) of `fd` the page cache holds (bit 0 of each byte, as
// mincore gives them; `offset` page-aligned), or an empty vector where that cannot be found out.
std::vector<unsigned char> pages_in_page_cache(int fd, uint64_t offset, uint64_t size) {
    void* view = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, off_t(offset));
    if (view == MAP_FAILED) return {};
    std::vector<unsigned char> cached((size + kPage - 1) / kPage);
    if (::mincore(view, size, cached.data()) != 0) cached.clear();
    ::munmap(view, size);
    return cached;
}

// MemAvailable from /proc/meminfo in bytes, or 0 if it cannot be read.
uint64_t available_memory() {
    std::ifstream in("/proc/meminfo");
    std::string key, unit;
    uint64_t kib = 0;
    while (in >> key >> kib) {
        std::getline(in, unit);
        if (key == "MemAvailable:") return kib * 1024;
    }
    return 0;
}

// Pieces of the copy: [0, size) without the whole pages inside `left_out`, in file order.
std::vector<ByteRange> copied_pieces(uint64_t size, std::vector<ByteRange> left_out) {
    std::sort(left_out.begin(), left_out.end(),
              [](const ByteRange& a, const ByteRange& b) { return a.offset < b.offset; });
    std::vector<ByteRange> pieces;
    uint64_t at = 0;
    for (const ByteRange& r : left_out) {
        const uint64_t begin = std::max(at, (r.offset + kPage - 1) / kPage * kPage);
        const uint64_t end = std::min(size, (r.offset + r.size) / kPage * kPage);
        if (end <= begin) continue;
        pieces.push_back({at, begin - at});
        at = end;
    }
    pieces.push_back({at, size - at});
    return pieces;
}

}  // namespace

Residency choose_residency(uint64_t file_bytes, uint64_t available_bytes, bool huge_pages) {
    return huge_pages && file_bytes <= available_bytes / 2 ? Residency::Copied : Residency::Mapped;
}

Residency resolve_residency(Residency requested, uint64_t file_bytes) {
    if (requested != Residency::Auto) return requested;
    // "always [madvise] never": the bracket marks the mode in force.
    const std::string thp = first_line("/sys/kernel/mm/transparent_hugepage/enabled");
    const bool huge_pages = thp.find("[always]") != std::string::npos || thp.find("[madvise]") != std::string::npos;
    return choose_residency(file_bytes, available_memory(), huge_pages);
}

MappedFile::MappedFile(const std::string& path, Residency residency) : path_(path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        if (err == ENOENT || err == ENOTDIR) throw input_error(path, "no such file");
        throw io_error(path, std::string("cannot open: ") + std::strerror(err));
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        int err = errno;
        ::close(fd);
        throw io_error(path, std::string("cannot stat: ") + std::strerror(err));
    }
    if (S_ISDIR(st.st_mode)) {
        ::close(fd);
        throw input_error(path, "is a directory, not a file");
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        throw input_error(path, "is not a regular file");
    }
    if (st.st_size == 0) {
        ::close(fd);
        throw input_error(path, "file is empty");
    }
    size_ = static_cast<size_t>(st.st_size);
    void* addr = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (addr == MAP_FAILED) {
        int err = errno;
        ::close(fd);
        throw io_error(path, std::string("cannot map: ") + std::strerror(err));
    }
    // Page-cache pages read in from now on may then come as 2 MiB folios mapped by one entry.
    // Measured on a 2.2 GB model: a mapping of 4 KiB pages streamed 5-10 GB/s (page walks miss
    // the caches), one of 2 MiB folios 24 GB/s, as fast as a copy (--no-mmap). Pages already
    // cached in small folios stay as they are; advice only, ignored where unsupported.
    ::madvise(addr, size_, MADV_HUGEPAGE);
    data_ = static_cast<const uint8_t*>(addr);
    mapping_ = addr;
    fd_ = fd;
    if (resolve_residency(residency, size_) != Residency::Copied) return;
    try {
        copy_into_memory();
    } catch (...) {  // no destructor runs for a constructor that throws
        ::munmap(mapping_, size_);
        ::close(fd_);
        throw;
    }
}

void MappedFile::copy_into_memory(const std::vector<ByteRange>& left_out) {
    if (mapping_ == nullptr || fd_ < 0) throw usage_error(path_ + ": only a mapped file can be copied");
    HugePageRegion copy;
    try {
        copy = HugePageRegion(size_);
    } catch (const std::system_error& e) {
        throw io_error(path_, "cannot allocate " + std::to_string(size_) + " bytes: " + e.code().message());
    }
    uint8_t* data = copy.data();
    const std::vector<ByteRange> pieces = copied_pieces(size_, left_out);
    // Reads of 32 MiB in parallel: copying from the page cache and faulting in fresh pages both
    // scale with threads. If one throws, `copy` is unmapped and the file mapping stays.
    constexpr uint64_t kChunk = uint64_t(32) << 20;
    std::vector<ByteRange> chunks;
    for (const ByteRange& p : pieces)
        for (uint64_t at = p.offset; at < p.offset + p.size; at += kChunk)
            chunks.push_back({at, std::min(kChunk, p.offset + p.size - at)});
    tbb::parallel_for(size_t(0), chunks.size(), [&](size_t i) {
        pread_all(fd_, chunks[i].offset, size_t(chunks[i].size), data + chunks[i].offset, path_);
    });
    // The copy stays writable (rewrite edits it in place): changing the protection of a part of
    // it would split its huge pages. Only the pages left out lose access.
    uint64_t end_of_previous = 0;
    for (const ByteRange& p : pieces) {
        if (p.offset > end_of_previous) ::mprotect(data + end_of_previous, p.offset - end_of_previous, PROT_NONE);
        end_of_previous = p.offset + p.size;
    }
    ::munmap(mapping_, size_);
    mapping_ = nullptr;
    copy_ = std::move(copy);
    data_ = data;
}

void MappedFile::rewrite(const std::vector<ByteRange>& ranges, const std::function<void(uint8_t* bytes)>& edit) {
    if (mapping_ == nullptr && !is_copy()) throw usage_error(path_ + ": bytes viewed in memory cannot be rewritten");
    for (const ByteRange& r : ranges)
        if (r.offset > size_ || r.size > size_ - r.offset)
            throw usage_error(path_ + ": rewrite of bytes past the end of the file");
    auto* bytes = const_cast<uint8_t*>(data_);
    if (is_copy()) {  // writable already
        edit(bytes);
        return;
    }
    auto protect = [&](int protection) {
        for (const ByteRange& r : ranges) {
            if (r.size == 0) continue;
            const uint64_t begin = r.offset / kPage * kPage, end = (r.offset + r.size + kPage - 1) / kPage * kPage;
            if (::mprotect(bytes + begin, size_t(std::min<uint64_t>(end, size_) - begin), protection) != 0)
                throw io_error(path_, std::string("cannot change the protection of its memory: ") + std::strerror(errno));
        }
    };
    protect(PROT_READ | PROT_WRITE);
    try {
        edit(bytes);
    } catch (...) {
        protect(PROT_READ);
        throw;
    }
    protect(PROT_READ);
}

std::unique_ptr<MappedFile> MappedFile::view(const uint8_t* data, size_t size, const std::string& name) {
    std::unique_ptr<MappedFile> f(new MappedFile());
    f->path_ = name;
    f->data_ = data;
    f->size_ = size;
    if (size == 0) throw input_error(name, "file is empty");
    return f;
}

MappedFile::~MappedFile() {
    if (mapping_) ::munmap(mapping_, size_);
    if (fd_ >= 0) ::close(fd_);
}

void MappedFile::read_ahead(ByteRange range) const {
    if (fd_ < 0 || range.offset >= size_) return;
    const uint64_t begin = range.offset / kPage * kPage;
    const uint64_t end = range.offset + std::min<uint64_t>(range.size, size_ - range.offset);
    // Advice for a piece the page cache already holds costs a call for nothing, and calls are
    // not free (20-45 us each, measured: 1.5 s for a cached 4.4 GB file in 128 KiB pieces), so
    // one mincore first picks the pieces that need reading.
    const std::vector<unsigned char> cached = pages_in_page_cache(fd_, begin, end - begin);
    struct stat st {};
    const uint64_t window = ::fstat(fd_, &st) == 0 ? read_ahead_window(st.st_dev) : kDefaultReadAheadWindow;
    for (uint64_t at = begin; at < end; at += window) {
        const uint64_t stop = std::min(end, at + window);
        const auto first = cached.begin() + ptrdiff_t((at - begin) / kPage);
        const auto last = cached.begin() + ptrdiff_t((stop - begin + kPage - 1) / kPage);
        if (!cached.empty() && std::all_of(first, last, [](unsigned char c) { return c & 1; })) continue;
        ::posix_fadvise(fd_, off_t(at), off_t(stop - at), POSIX_FADV_WILLNEED);
    }
}

void MappedFile::read(uint64_t offset, size_t n, uint8_t* dst) const {
    if (offset > size_ || n > size_ - offset)
        throw io_error(path_, "read of " + std::to_string(n) + " bytes at offset " + std::to_string(offset) +
                                  " is past the end of the file (" + std::to_string(size_) + " bytes)");
    if (fd_ < 0) {  // a view: the bytes are in memory anyway
        std::memcpy(dst, data_ + offset, n);
        return;
    }
    pread_all(fd_, offset, n, dst, path_);
}

}  // namespace dilmodeli
