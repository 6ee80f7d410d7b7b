#pragma once
// Errors carry a category that apps/ turns into the documented exit code, and a message that
// names the file, the field and the offending value.
#include <stdexcept>
#include <string>

namespace dilmodeli {

enum class ErrorKind {
    Usage = 1,      // a flag or argument is invalid
    BadInput = 2,   // an input file is malformed or unsupported
    Io = 3,         // the file system refused a read or a write
};

class Error : public std::runtime_error {
public:
    Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
    ErrorKind kind() const { return kind_; }
    int exit_code() const { return static_cast<int>(kind_); }

private:
    ErrorKind kind_;
};

inline Error usage_error(const std::string& message) { return Error(ErrorKind::Usage, message); }
inline Error input_error(const std::string& file, const std::string& message) {
    return Error(ErrorKind::BadInput, file + ": " + message);
}
inline Error io_error(const std::string& file, const std::string& message) {
    return Error(ErrorKind::Io, file + ": " + message);
}

}  // namespace dilmodeli
