#pragma once
// GGUF metadata values: every scalar type, strings and (nested) arrays, kept with their exact
// stored type so that a file read and written again is byte-identical.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace dilmodeli::gguf {

enum class ValueType : uint32_t {
    U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, Bool = 7,
    String = 8, Array = 9, U64 = 10, I64 = 11, F64 = 12,
};

const char* value_type_name(ValueType type);
// Bytes of one value of a fixed-width type as stored; 0 for strings and arrays.
size_t fixed_width(ValueType type);

struct Value;

// An array's elements, stored by kind: fixed-width numbers packed at their width, strings in one
// buffer, nested arrays as Values. A 32,000-token vocabulary held as one Value per entry (tokens,
// scores and token types) took 3.8 MiB, more than the KV cache of a small model.
class Array {
public:
    explicit Array(ValueType element_type = ValueType::U8);
    // Throws Error(Usage) if an element is not of element_type.
    Array(ValueType element_type, const std::vector<Value>& elements);

    ValueType element_type() const { return element_type_; }
    size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    // Element i (< size()), as a Value of element_type (a string element is copied).
    Value at(size_t i) const;
    // String element i (< size()) without a copy; valid while the array is alive and unchanged.
    // Throws Error(Usage) if the elements are not strings.
    std::string_view string_at(size_t i) const;
    // Appends v; throws Error(Usage) if it is not of element_type.
    void push_back(const Value& v);
    // Room for n elements; for strings, `string_bytes` of text in all.
    void reserve(size_t n, size_t string_bytes = 0);

    // Bulk forms for the GGUF reader, which has already checked the element type: one string,
    // or `count` fixed-width elements stored end to end as in the file (little-endian).
    void append_string(std::string_view s);
    void append_fixed(const uint8_t* raw, size_t count);

private:
    ValueType element_type_;
    size_t size_ = 0;
    std::vector<uint8_t> bytes_;        // numbers: size_ * width; strings: their bytes end to end
    std::vector<uint64_t> string_ends_;  // strings: end of string i in bytes_
    std::vector<Value> arrays_;          // nested arrays
};

struct Value {
    using Storage = std::variant<uint8_t, int8_t, uint16_t, int16_t, uint32_t, int32_t, float,
                                 bool, std::string, Array, uint64_t, int64_t, double>;
    Storage data;

    Value() = default;
    template <typename T>
    explicit Value(T v) : data(std::move(v)) {}

    ValueType type() const { return static_cast<ValueType>(data.index()); }
    bool is_integer() const;
    bool is_number() const;  // integer or floating point
    // Integers of any width; nullopt for other types.
    std::optional<int64_t> as_int() const;
    std::optional<uint64_t> as_uint() const;  // nullopt for negative values too
    // Any number as double; nullopt for other types.
    std::optional<double> as_double() const;
    const std::string* as_string() const { return std::get_if<std::string>(&data); }
    const Array* as_array() const { return std::get_if<Array>(&data); }
    // Short human form ("[32000 strings]" for long arrays), for `inspect`.
    std::string summary(size_t max_elements = 8) const;

    static Value string(std::string s) { return Value(std::move(s)); }
    static Value array(ValueType element_type, const std::vector<Value>& elements) {
        return Value(Array(element_type, elements));
    }
};

struct KeyValue {
    std::string key;
    Value value;
};

}  // namespace dilmodeli::gguf
