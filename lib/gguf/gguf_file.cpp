#include "gguf/gguf_file.h"

#include <algorithm>
#include <cstring>
#include <sstream>

#include "common/error.h"

namespace dilmodeli::gguf {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr int kMaxArrayNesting = 8;

// Bounds-checked little-endian reads over the mapping; every failure names the field.
class Cursor {
public:
    Cursor(const std::string& path, const uint8_t* data, size_t size)
        : path_(path), data_(data), size_(size) {}

    size_t position() const { return pos_; }
    size_t remaining() const { return size_ - pos_; }

    template <typename T>
    T read(const std::string& field) {
        if (remaining() < sizeof(T)) truncated(field, sizeof(T));
        T value;
        std::memcpy(&value, data_ + pos_, sizeof(T));
        pos_ += sizeof(T);
        return value;
    }

    // A view of the next string's bytes in the mapping. Error messages are built only on failure:
    // vocabularies hold hundreds of thousands of strings.
    std::string_view read_string_view(const std::string& field) {
        if (remaining() < sizeof(uint64_t)) truncated(field + " length", sizeof(uint64_t));
        uint64_t length;
        std::memcpy(&length, data_ + pos_, sizeof length);
        pos_ += sizeof length;
        if (length > remaining())
            throw input_error(path_, field + " length " + std::to_string(length) + " at offset " +
                                         std::to_string(pos_ - 8) + " exceeds the " +
                                         std::to_string(remaining()) + " bytes left in the file");
        std::string_view s(reinterpret_cast<const char*>(data_ + pos_), length);
        pos_ += length;
        return s;
    }

    std::string read_string(const std::string& field) { return std::string(read_string_view(field)); }

    // The next n bytes, which the caller has checked are there.
    const uint8_t* take(size_t n, const std::string& field) {
        if (remaining() < n) truncated(field, n);
        const uint8_t* at = data_ + pos_;
        pos_ += n;
        return at;
    }

    [[noreturn]] void fail(const std::string& message) const { throw input_error(path_, message); }

private:
    [[noreturn]] void truncated(const std::string& field, size_t needed) const {
        fail("truncated file: " + field + " at offset " + std::to_string(pos_) + " needs " +
             std::to_string(needed) + " bytes, " + std::to_string(remaining()) + " left");
    }

    const std::string& path_;
    const uint8_t* data_;
    size_t size_;
    size_t pos_ = 0;
};

// The fewest bytes one element of `type` occupies, so that a count can be checked against
// the rest of the file before anything is allocated for it.
size_t min_encoded_size(ValueType type) {
    if (type == ValueType::String) return 8;  // the length
    if (type == ValueType::Array) return 12;  // element type and count
    return std::max<size_t>(1, fixed_width(type));
}

bool known_value_type(uint32_t t) { return t <= static_cast<uint32_t>(ValueType::F64); }

Value read_value(Cursor& in, ValueType type, const std::string& field, int depth) {
    switch (type) {
        case ValueType::U8: return Value(in.read<uint8_t>(field));
        case ValueType::I8: return Value(in.read<int8_t>(field));
        case ValueType::U16: return Value(in.read<uint16_t>(field));
        case ValueType::I16: return Value(in.read<int16_t>(field));
        case ValueType::U32: return Value(in.read<uint32_t>(field));
        case ValueType::I32: return Value(in.read<int32_t>(field));
        case ValueType::F32: return Value(in.read<float>(field));
        case ValueType::U64: return Value(in.read<uint64_t>(field));
        case ValueType::I64: return Value(in.read<int64_t>(field));
        case ValueType::F64: return Value(in.read<double>(field));
        case ValueType::Bool: {
            uint8_t b = in.read<uint8_t>(field);
            if (b > 1) in.fail(field + ": bool value " + std::to_string(b) + " is neither 0 nor 1");
            return Value(b != 0);
        }
        case ValueType::String: return Value(in.read_string(field));
        case ValueType::Array: {
            if (depth >= kMaxArrayNesting)
                in.fail(field + ": arrays nested deeper than " + std::to_string(kMaxArrayNesting));
            uint32_t element_type = in.read<uint32_t>(field + " element type");
            if (!known_value_type(element_type))
                in.fail(field + ": unknown array element type " + std::to_string(element_type));
            uint64_t count = in.read<uint64_t>(field + " element count");
            auto etype = static_cast<ValueType>(element_type);
            if (count > in.remaining() / min_encoded_size(etype))
                in.fail(field + ": array count " + std::to_string(count) + " cannot fit in the " +
                        std::to_string(in.remaining()) + " bytes left in the file");
            Array array(etype);
            if (etype == ValueType::String) {
                // Two passes, so that the text buffer is allocated once at its exact size.
                Cursor scan = in;
                size_t text_bytes = 0;
                for (uint64_t i = 0; i < count; ++i) text_bytes += scan.read_string_view(field).size();
                array.reserve(count, text_bytes);
                for (uint64_t i = 0; i < count; ++i) array.append_string(in.read_string_view(field));
            } else if (etype != ValueType::Bool && etype != ValueType::Array) {
                // Fixed-width numbers are copied as stored; the count check above bounds the size.
                array.append_fixed(in.take(count * fixed_width(etype), field), count);
            } else {
                array.reserve(count);
                for (uint64_t i = 0; i < count; ++i) array.push_back(read_value(in, etype, field, depth + 1));
            }
            return Value(std::move(array));
        }
    }
    in.fail(field + ": unknown value type " + std::to_string(static_cast<uint32_t>(type)));
}

uint64_t align_up(uint64_t x, uint64_t alignment) { return (x + alignment - 1) / alignment * alignment; }

}  // namespace

int64_t TensorInfo::n_elements() const {
    int64_t n = 1;
    for (int64_t d : dims) n *= d;
    return n;
}

std::string TensorInfo::shape_string() const {
    std::ostringstream out;
    out << "[";
    for (size_t i = 0; i < dims.size(); ++i) out << (i ? ", " : "") << dims[i];
    out << "]";
    return out.str();
}

std::unique_ptr<GgufFile> GgufFile::open(const std::string& path, Residency residency) {
    std::unique_ptr<GgufFile> file(new GgufFile());
    file->file_ = std::make_unique<MappedFile>(path, residency);
    file->parse();
    return file;
}

std::unique_ptr<GgufFile> GgufFile::from_memory(const uint8_t* data, size_t size, const std::string& name) {
    std::unique_ptr<GgufFile> file(new GgufFile());
    file->file_ = MappedFile::view(data, size, name);
    file->parse();
    return file;
}

void GgufFile::parse() {
    const std::string& path = file_->path();
    Cursor in(path, file_->data(), file_->size());

    if (file_->size() < 4 || std::memcmp(file_->data(), "GGUF", 4) != 0) {
        std::string head(reinterpret_cast<const char*>(file_->data()), std::min<size_t>(4, file_->size()));
        for (char& c : head)
            if (static_cast<unsigned char>(c) < 32 || static_cast<unsigned char>(c) > 126) c = '?';
        throw input_error(path, "not a GGUF file (magic is \"" + head + "\", expected \"GGUF\")");
    }
    (void)in.read<uint32_t>("magic");
    version_ = in.read<uint32_t>("version");
    if (version_ == 1)
        in.fail("GGUF version 1 is obsolete and not supported (llama.cpp refuses it too); "
                "re-convert the model to GGUF v3");
    if (version_ != 2 && version_ != 3)
        in.fail("unsupported GGUF version " + std::to_string(version_) + " (supported: 2 and 3)");

    uint64_t tensor_count = in.read<uint64_t>("tensor count");
    uint64_t kv_count = in.read<uint64_t>("metadata count");
    // A key-value pair needs at least 8 (key length) + 4 (type) + 1 bytes; a tensor info at
    // least 8 + 4 + 4 + 8.
    if (kv_count > in.remaining() / 13)
        in.fail("metadata count " + std::to_string(kv_count) + " cannot fit in a file of " +
                std::to_string(file_size()) + " bytes");
    if (tensor_count > in.remaining() / 24)
        in.fail("tensor count " + std::to_string(tensor_count) + " cannot fit in a file of " +
                std::to_string(file_size()) + " bytes");

    metadata_.reserve(kv_count);
    for (uint64_t i = 0; i < kv_count; ++i) {
        std::string field = "metadata entry " + std::to_string(i);
        std::string key = in.read_string(field + " key");
        uint32_t type = in.read<uint32_t>("type of metadata key '" + key + "'");
        if (!known_value_type(type))
            in.fail("metadata key '" + key + "' has unknown value type " + std::to_string(type));
        Value value = read_value(in, static_cast<ValueType>(type), "metadata key '" + key + "'", 0);
        if (metadata_index_.count(key)) in.fail("duplicate metadata key '" + key + "'");
        metadata_index_.emplace(key, metadata_.size());
        metadata_.push_back({std::move(key), std::move(value)});
    }

    if (const Value* a = find("general.alignment")) {
        if (a->type() != ValueType::U32)
            in.fail(std::string("general.alignment has type ") + value_type_name(a->type()) +
                    ", expected u32");
        uint32_t alignment = std::get<uint32_t>(a->data);
        if (alignment == 0 || (alignment & (alignment - 1)) != 0)
            in.fail("general.alignment " + std::to_string(alignment) + " is not a power of two");
        alignment_ = alignment;
    }

    tensors_.reserve(tensor_count);
    for (uint64_t i = 0; i < tensor_count; ++i) {
        TensorInfo t;
        t.name = in.read_string("tensor " + std::to_string(i) + " name");
        const std::string what = "tensor '" + t.name + "'";
        uint32_t n_dims = in.read<uint32_t>(what + " dimension count");
        if (n_dims == 0 || n_dims > kMaxDims)
            in.fail(what + " has " + std::to_string(n_dims) + " dimensions (allowed: 1 to " +
                    std::to_string(kMaxDims) + ")");
        int64_t elements = 1;
        for (uint32_t d = 0; d < n_dims; ++d) {
            uint64_t dim = in.read<uint64_t>(what + " dimension " + std::to_string(d));
            if (dim > static_cast<uint64_t>(INT64_MAX))
                in.fail(what + " dimension " + std::to_string(d) + " is " + std::to_string(dim) +
                        ", too large");
            if (dim != 0 && __builtin_mul_overflow(elements, static_cast<int64_t>(dim), &elements))
                in.fail(what + " shape overflows a 64-bit element count (dimension " +
                        std::to_string(d) + " = " + std::to_string(dim) + ")");
            if (dim == 0) elements = 0;
            t.dims.push_back(static_cast<int64_t>(dim));
        }
        uint32_t type_id = in.read<uint32_t>(what + " type");
        const quant::TypeInfo* type = quant::find_type(type_id);
        if (!type) in.fail(what + " has unknown tensor type id " + std::to_string(type_id));
        t.type = type->id;
        if (t.dims[0] % type->block_size != 0)
            in.fail(what + " row length " + std::to_string(t.dims[0]) + " is not a multiple of " +
                    type->name + "'s block size " + std::to_string(type->block_size));
        t.offset = in.read<uint64_t>(what + " data offset");
        if (t.offset % alignment_ != 0)
            in.fail(what + " data offset " + std::to_string(t.offset) + " is not a multiple of the alignment " +
                    std::to_string(alignment_));
        uint64_t blocks = static_cast<uint64_t>(elements / type->block_size);
        if (blocks > UINT64_MAX / type->block_bytes)
            in.fail(what + " byte size overflows (" + std::to_string(elements) + " elements)");
        t.n_bytes = blocks * type->block_bytes;
        if (tensor_index_.count(t.name)) in.fail("duplicate tensor name '" + t.name + "'");
        tensor_index_.emplace(t.name, tensors_.size());
        tensors_.push_back(std::move(t));
    }

    data_offset_ = align_up(in.position(), alignment_);
    const uint64_t size = file_size();
    if (!tensors_.empty() && data_offset_ > size)
        in.fail("data section would start at offset " + std::to_string(data_offset_) +
                ", past the end of the file (" + std::to_string(size) + " bytes)");
    const uint64_t data_size = data_offset_ <= size ? size - data_offset_ : 0;

    for (TensorInfo& t : tensors_) {
        if (t.offset > data_size || t.n_bytes > data_size - t.offset)
            in.fail("tensor '" + t.name + "' data [" + std::to_string(t.offset) + ", +" +
                    std::to_string(t.n_bytes) + ") lies outside the data section of " +
                    std::to_string(data_size) + " bytes (file truncated?)");
        t.data = file_->data() + data_offset_ + t.offset;
    }

    std::vector<const TensorInfo*> by_offset;
    for (const TensorInfo& t : tensors_) by_offset.push_back(&t);
    std::sort(by_offset.begin(), by_offset.end(),
              [](const TensorInfo* a, const TensorInfo* b) { return a->offset < b->offset; });
    for (size_t i = 1; i < by_offset.size(); ++i) {
        const TensorInfo* prev = by_offset[i - 1];
        if (prev->offset + prev->n_bytes > by_offset[i]->offset)
            in.fail("tensor '" + by_offset[i]->name + "' at offset " + std::to_string(by_offset[i]->offset) +
                    " overlaps tensor '" + prev->name + "' ending at " +
                    std::to_string(prev->offset + prev->n_bytes));
    }
}

const Value* GgufFile::find(std::string_view key) const {
    auto it = metadata_index_.find(std::string(key));
    return it == metadata_index_.end() ? nullptr : &metadata_[it->second].value;
}

const TensorInfo* GgufFile::find_tensor(std::string_view name) const {
    auto it = tensor_index_.find(std::string(name));
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const Value& GgufFile::require(std::string_view key) const {
    const Value* v = find(key);
    if (!v) throw input_error(path(), "missing metadata key '" + std::string(key) + "'");
    return *v;
}

const TensorInfo& GgufFile::require_tensor(std::string_view name) const {
    const TensorInfo* t = find_tensor(name);
    if (!t) throw input_error(path(), "missing tensor '" + std::string(name) + "'");
    return *t;
}

namespace {
[[noreturn]] void wrong_type(const std::string& path, std::string_view key, const Value& v,
                             const char* expected) {
    throw input_error(path, "metadata key '" + std::string(key) + "' has type " +
                                value_type_name(v.type()) + ", expected " + expected);
}
}  // namespace

std::string GgufFile::get_string(std::string_view key) const {
    const Value& v = require(key);
    if (const std::string* s = v.as_string()) return *s;
    wrong_type(path(), key, v, "string");
}

std::string GgufFile::get_string_or(std::string_view key, const std::string& fallback) const {
    return find(key) ? get_string(key) : fallback;
}

int64_t GgufFile::get_int(std::string_view key) const {
    const Value& v = require(key);
    if (auto i = v.as_int()) return *i;
    wrong_type(path(), key, v, "an integer");
}

int64_t GgufFile::get_int_or(std::string_view key, int64_t fallback) const {
    return find(key) ? get_int(key) : fallback;
}

double GgufFile::get_float(std::string_view key) const {
    const Value& v = require(key);
    if (auto d = v.as_double()) return *d;
    wrong_type(path(), key, v, "a number");
}

double GgufFile::get_float_or(std::string_view key, double fallback) const {
    return find(key) ? get_float(key) : fallback;
}

bool GgufFile::get_bool_or(std::string_view key, bool fallback) const {
    const Value* v = find(key);
    if (!v) return fallback;
    if (const bool* b = std::get_if<bool>(&v->data)) return *b;
    wrong_type(path(), key, *v, "bool");
}

void GgufFile::copy_into_memory(const std::vector<std::string>& left_out) {
    std::vector<ByteRange> ranges;
    for (const std::string& name : left_out) {
        const TensorInfo& t = require_tensor(name);
        ranges.push_back({data_offset_ + t.offset, t.n_bytes});
    }
    file_->copy_into_memory(ranges);
    for (TensorInfo& t : tensors_) t.data = file_->data() + data_offset_ + t.offset;
}

uint64_t GgufFile::offset_of(const uint8_t* at, const char* caller) const {
    const uint8_t* base = file_->data();
    if (at < base || size_t(at - base) > file_->size())
        throw usage_error(std::string(caller) + ": pointer outside the mapping of " + path());
    return uint64_t(at - base);
}

void GgufFile::rewrite(const std::vector<Span>& spans, const std::function<void(uint8_t* bytes)>& edit) {
    std::vector<ByteRange> ranges;
    for (const Span& s : spans) ranges.push_back({offset_of(s.at, "rewrite"), s.n});
    file_->rewrite(ranges, edit);
}

void GgufFile::read_bytes(const uint8_t* at, size_t n, uint8_t* dst) const {
    file_->read(offset_of(at, "read_bytes"), n, dst);
}

void GgufFile::read_ahead(const std::vector<std::string>& tensor_names) const {
    if (tensor_names.empty()) {
        file_->read_ahead({data_offset_, file_->size() - std::min<uint64_t>(data_offset_, file_->size())});
        return;
    }
    for (const std::string& name : tensor_names) {
        const TensorInfo& t = require_tensor(name);
        file_->read_ahead({data_offset_ + t.offset, t.n_bytes});
    }
}

const Array& GgufFile::require_string_array(std::string_view key) const {
    const Value& v = require(key);
    const Array* a = v.as_array();
    if (!a || a->element_type() != ValueType::String) wrong_type(path(), key, v, "an array of strings");
    return *a;
}

std::vector<std::string> GgufFile::get_string_array(std::string_view key) const {
    const Array& a = require_string_array(key);
    std::vector<std::string> out;
    out.reserve(a.size());
    for (size_t i = 0; i < a.size(); ++i) out.emplace_back(a.string_at(i));
    return out;
}

std::vector<double> GgufFile::get_float_array(std::string_view key) const {
    const Value& v = require(key);
    const Array* a = v.as_array();
    if (!a || (!a->empty() && !a->at(0).is_number())) wrong_type(path(), key, v, "an array of numbers");
    std::vector<double> out;
    out.reserve(a->size());
    for (size_t i = 0; i < a->size(); ++i) out.push_back(*a->at(i).as_double());
    return out;
}

std::vector<int64_t> GgufFile::get_int_array(std::string_view key) const {
    const Value& v = require(key);
    const Array* a = v.as_array();
    if (!a || (!a->empty() && !a->at(0).is_integer())) wrong_type(path(), key, v, "an array of integers");
    std::vector<int64_t> out;
    out.reserve(a->size());
    for (size_t k = 0; k < a->size(); ++k) {
        auto i = a->at(k).as_int();
        if (!i) wrong_type(path(), key, v, "an array of integers");
        out.push_back(*i);
    }
    return out;
}

}  // namespace dilmodeli::gguf
