#include "gguf/value.h"

#include <cstring>
#include <sstream>
#include <type_traits>

#include "common/error.h"

namespace dilmodeli::gguf {

const char* value_type_name(ValueType type) {
    switch (type) {
        case ValueType::U8: return "u8";
        case ValueType::I8: return "i8";
        case ValueType::U16: return "u16";
        case ValueType::I16: return "i16";
        case ValueType::U32: return "u32";
        case ValueType::I32: return "i32";
        case ValueType::F32: return "f32";
        case ValueType::Bool: return "bool";
        case ValueType::String: return "string";
        case ValueType::Array: return "array";
        case ValueType::U64: return "u64";
        case ValueType::I64: return "i64";
        case ValueType::F64: return "f64";
    }
    return "unknown";
}

size_t fixed_width(ValueType type) {
    switch (type) {
        case ValueType::U8: case ValueType::I8: case ValueType::Bool: return 1;
        case ValueType::U16: case ValueType::I16: return 2;
        case ValueType::U32: case ValueType::I32: case ValueType::F32: return 4;
        case ValueType::U64: case ValueType::I64: case ValueType::F64: return 8;
        case ValueType::String: case ValueType::Array: return 0;
    }
    return 0;
}

namespace {

// The value of type T stored at `at`.
template <typename T>
Value load(const uint8_t* at) {
    T v;
    std::memcpy(&v, at, sizeof v);
    return Value(v);
}

}  // namespace

Array::Array(ValueType element_type) : element_type_(element_type) {}

Array::Array(ValueType element_type, const std::vector<Value>& elements) : element_type_(element_type) {
    reserve(elements.size());
    for (const Value& e : elements) push_back(e);
}

void Array::reserve(size_t n, size_t string_bytes) {
    if (element_type_ == ValueType::String) {
        string_ends_.reserve(n);
        bytes_.reserve(string_bytes);
    } else if (element_type_ == ValueType::Array) {
        arrays_.reserve(n);
    } else {
        bytes_.reserve(n * fixed_width(element_type_));
    }
}

void Array::append_string(std::string_view s) {
    bytes_.insert(bytes_.end(), s.begin(), s.end());
    string_ends_.push_back(bytes_.size());
    ++size_;
}

void Array::append_fixed(const uint8_t* raw, size_t count) {
    bytes_.insert(bytes_.end(), raw, raw + count * fixed_width(element_type_));
    size_ += count;
}

std::string_view Array::string_at(size_t i) const {
    if (element_type_ != ValueType::String || i >= size_)
        throw usage_error(std::string("GGUF array of ") + std::to_string(size_) + " " + value_type_name(element_type_) +
                          " elements has no string element " + std::to_string(i));
    const uint64_t begin = i == 0 ? 0 : string_ends_[i - 1];
    return std::string_view(reinterpret_cast<const char*>(bytes_.data()) + begin, string_ends_[i] - begin);
}

void Array::push_back(const Value& v) {
    if (v.type() != element_type_)
        throw usage_error(std::string("GGUF array declared as ") + value_type_name(element_type_) + " holds a " +
                          value_type_name(v.type()));
    std::visit(
        [&](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, std::string>) {
                bytes_.insert(bytes_.end(), x.begin(), x.end());
                string_ends_.push_back(bytes_.size());
            } else if constexpr (std::is_same_v<T, Array>) {
                arrays_.push_back(v);
            } else {
                const auto* raw = reinterpret_cast<const uint8_t*>(&x);
                bytes_.insert(bytes_.end(), raw, raw + sizeof x);
            }
        },
        v.data);
    ++size_;
}

Value Array::at(size_t i) const {
    if (i >= size_)
        throw usage_error("GGUF array of " + std::to_string(size_) + " elements has no element " + std::to_string(i));
    const uint8_t* at = bytes_.data() + i * fixed_width(element_type_);
    switch (element_type_) {
        case ValueType::U8: return load<uint8_t>(at);
        case ValueType::I8: return load<int8_t>(at);
        case ValueType::U16: return load<uint16_t>(at);
        case ValueType::I16: return load<int16_t>(at);
        case ValueType::U32: return load<uint32_t>(at);
        case ValueType::I32: return load<int32_t>(at);
        case ValueType::F32: return load<float>(at);
        case ValueType::Bool: return load<bool>(at);
        case ValueType::U64: return load<uint64_t>(at);
        case ValueType::I64: return load<int64_t>(at);
        case ValueType::F64: return load<double>(at);
        case ValueType::String: return Value(std::string(string_at(i)));
        case ValueType::Array: return arrays_[i];
    }
    throw usage_error(std::string("GGUF array of unknown element type ") + value_type_name(element_type_));
}

bool Value::is_integer() const {
    switch (type()) {
        case ValueType::U8: case ValueType::I8: case ValueType::U16: case ValueType::I16:
        case ValueType::U32: case ValueType::I32: case ValueType::U64: case ValueType::I64:
            return true;
        default:
            return false;
    }
}

bool Value::is_number() const {
    return is_integer() || type() == ValueType::F32 || type() == ValueType::F64;
}

std::optional<int64_t> Value::as_int() const {
    return std::visit(
        [](const auto& v) -> std::optional<int64_t> {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, bool>) {
                return std::nullopt;
            } else if constexpr (std::is_same_v<T, uint64_t>) {
                if (v > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
                return static_cast<int64_t>(v);
            } else if constexpr (std::is_integral_v<T>) {
                return static_cast<int64_t>(v);
            } else {
                return std::nullopt;
            }
        },
        data);
}

std::optional<uint64_t> Value::as_uint() const {
    if (const auto* u = std::get_if<uint64_t>(&data)) return *u;
    auto i = as_int();
    if (!i || *i < 0) return std::nullopt;
    return static_cast<uint64_t>(*i);
}

std::optional<double> Value::as_double() const {
    if (const auto* f = std::get_if<float>(&data)) return *f;
    if (const auto* d = std::get_if<double>(&data)) return *d;
    if (const auto* u = std::get_if<uint64_t>(&data)) return static_cast<double>(*u);
    if (auto i = as_int()) return static_cast<double>(*i);
    return std::nullopt;
}

std::string Value::summary(size_t max_elements) const {
    std::ostringstream out;
    std::visit(
        [&](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::string>) {
                std::string shown = v.size() > 80 ? v.substr(0, 77) + "..." : v;
                out << '"' << shown << '"';
            } else if constexpr (std::is_same_v<T, Array>) {
                if (v.size() > max_elements) {
                    out << "[" << v.size() << " " << value_type_name(v.element_type())
                        << (v.element_type() == ValueType::String ? "s" : " values") << "]";
                } else {
                    out << "[";
                    for (size_t i = 0; i < v.size(); ++i)
                        out << (i ? ", " : "") << v.at(i).summary(max_elements);
                    out << "]";
                }
            } else if constexpr (std::is_same_v<T, bool>) {
                out << (v ? "true" : "false");
            } else if constexpr (std::is_same_v<T, uint8_t> || std::is_same_v<T, int8_t>) {
                out << static_cast<int>(v);
            } else {
                out << v;
            }
        },
        data);
    return out.str();
}

}  // namespace dilmodeli::gguf
