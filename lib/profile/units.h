#pragma once
// Numbers for people: byte counts in binary units, rates with sensible precision.
#include <cstdint>
#include <string>

namespace dilmodeli::profile {

// "48 KiB", "1.5 MiB", "508 MiB", "1.25 GiB"; "0 B" for 0.
std::string human_bytes(uint64_t bytes);
// "64K", "16M", "1G", "1.5G" or plain bytes ("4096"); binary multiples. Error(Usage) naming
// `flag` otherwise.
uint64_t parse_byte_size(const std::string& text, const std::string& flag);
// printf into a std::string.
std::string strprintf(const char* format, ...) __attribute__((format(printf, 1, 2)));

}  // namespace dilmodeli::profile
