#include "gguf/value.h"

#include <sstream>
#include <type_traits>

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
                if (v.elements.size() > max_elements) {
                    out << "[" << v.elements.size() << " " << value_type_name(v.element_type)
                        << (v.element_type == ValueType::String ? "s" : " values") << "]";
                } else {
                    out << "[";
                    for (size_t i = 0; i < v.elements.size(); ++i)
                        out << (i ? ", " : "") << v.elements[i].summary(max_elements);
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
