#pragma once
// Reading GGUF (v2 and v3): the whole file is mapped read-only and validated before any use;
// tensors are views into the mapping. Every malformed field is an Error(BadInput) whose message
// names the file, the field and the value.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/mapped_file.h"
#include "gguf/value.h"
#include "quant/quant_type.h"

namespace dilmodeli::gguf {

constexpr uint32_t kDefaultAlignment = 32;
constexpr uint32_t kMaxDims = 4;

struct TensorInfo {
    std::string name;
    std::vector<int64_t> dims;  // dims[0] is the row length (fastest varying)
    quant::TypeId type = quant::TypeId::F32;
    uint64_t offset = 0;        // relative to the start of the data section
    uint64_t n_bytes = 0;
    const uint8_t* data = nullptr;  // into the mapping

    int64_t n_elements() const;
    int64_t row_length() const { return dims.empty() ? 1 : dims[0]; }
    int64_t n_rows() const { return row_length() == 0 ? 0 : n_elements() / row_length(); }
    const quant::TypeInfo& type_info() const { return quant::type_info(type); }
    std::string shape_string() const;  // "[64, 512]"
};

class GgufFile {
public:
    // Maps and validates `path`; throws Error(BadInput) for anything malformed or unsupported.
    static std::unique_ptr<GgufFile> open(const std::string& path, Residency residency = Residency::Mapped);
    // The same for bytes in memory (they must outlive the result); `name` stands for the path.
    static std::unique_ptr<GgufFile> from_memory(const uint8_t* data, size_t size, const std::string& name);

    const std::string& path() const { return file_->path(); }
    uint32_t version() const { return version_; }
    uint32_t alignment() const { return alignment_; }
    uint64_t file_size() const { return file_->size(); }
    uint64_t data_offset() const { return data_offset_; }  // absolute start of tensor data

    const std::vector<KeyValue>& metadata() const { return metadata_; }
    const std::vector<TensorInfo>& tensors() const { return tensors_; }

    // Null when absent.
    const Value* find(std::string_view key) const;
    const TensorInfo* find_tensor(std::string_view name) const;
    bool has(std::string_view key) const { return find(key) != nullptr; }

    // Typed accessors; the *_or forms return the fallback when the key is absent and throw
    // Error(BadInput) when it is present with an unusable type or value.
    const Value& require(std::string_view key) const;
    std::string get_string(std::string_view key) const;
    std::string get_string_or(std::string_view key, const std::string& fallback) const;
    int64_t get_int(std::string_view key) const;
    int64_t get_int_or(std::string_view key, int64_t fallback) const;
    double get_float(std::string_view key) const;
    double get_float_or(std::string_view key, double fallback) const;
    bool get_bool_or(std::string_view key, bool fallback) const;
    std::vector<std::string> get_string_array(std::string_view key) const;  // copies every string
    // The same array in place: read its strings with Array::string_at, which does not copy.
    const Array& require_string_array(std::string_view key) const;
    std::vector<double> get_float_array(std::string_view key) const;
    std::vector<int64_t> get_int_array(std::string_view key) const;
    const TensorInfo& require_tensor(std::string_view name) const;

    // Replaces the mapping with a copy in memory (see MappedFile::copy_into_memory), except the
    // tensors named in `left_out`, whose bytes are then only read with read_bytes. Tensor views
    // move to the copy.
    void copy_into_memory(const std::vector<std::string>& left_out = {});
    bool is_copy() const { return file_->is_copy(); }

    // Lets edit(bytes) rewrite the bytes of the given spans of tensor data in memory (see
    // MappedFile::rewrite); `bytes` is where the file starts, so a span starting at p is at
    // bytes + (p - first byte of the file). The file on disk never changes.
    struct Span {
        const uint8_t* at;
        size_t n;
    };
    void rewrite(const std::vector<Span>& spans, const std::function<void(uint8_t* bytes)>& edit);
    const uint8_t* bytes() const { return file_->data(); }

    // Copies n bytes of the file, starting where `at` (a pointer into the mapping, e.g. a tensor
    // row) points, with a read instead of through the mapping: for scattered small reads, such as
    // embedding rows, that should not bring their neighbourhood into the process's memory.
    void read_bytes(const uint8_t* at, size_t n, uint8_t* dst) const;
    // Starts reading the named tensors' bytes (all tensors if none are named) into the page
    // cache in the background (see MappedFile::read_ahead).
    void read_ahead(const std::vector<std::string>& tensor_names = {}) const;

private:
    GgufFile() = default;
    void parse();
    // Where `at` (a pointer into the mapping) is in the file; Error(Usage) naming `caller` outside it.
    uint64_t offset_of(const uint8_t* at, const char* caller) const;

    std::unique_ptr<MappedFile> file_;
    uint32_t version_ = 0;
    uint32_t alignment_ = kDefaultAlignment;
    uint64_t data_offset_ = 0;
    std::vector<KeyValue> metadata_;
    std::unordered_map<std::string, size_t> metadata_index_;
    std::vector<TensorInfo> tensors_;
    std::unordered_map<std::string, size_t> tensor_index_;
};

}  // namespace dilmodeli::gguf
