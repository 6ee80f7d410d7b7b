#include "common/mapped_file.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"

namespace dilmodeli {

MappedFile::MappedFile(const std::string& path) : path_(path) {
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
    int err = errno;
    ::close(fd);
    if (addr == MAP_FAILED) throw io_error(path, std::string("cannot map: ") + std::strerror(err));
    data_ = static_cast<const uint8_t*>(addr);
    owns_mapping_ = true;
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
    if (owns_mapping_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

}  // namespace dilmodeli
