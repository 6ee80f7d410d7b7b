#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "common/error.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "support/shared_data.h"

using namespace dilmodeli;
using namespace dilmodeli::gguf;

namespace {

// Each element type at the edges of its range (the bytes of a packed element must come back
// exactly), strings of zero, one and many bytes, and arrays nested in arrays.
struct ArrayCase {
    std::string key;
    ValueType type;
    std::vector<Value> elements;
};

std::vector<ArrayCase> arrays_of_every_type() {
    auto array = [](ValueType type, std::vector<Value> elements) { return Value::array(type, elements); };
    return {
        {"u8", ValueType::U8, {Value(uint8_t{0}), Value(uint8_t{255})}},
        {"i8", ValueType::I8, {Value(int8_t{-128}), Value(int8_t{127})}},
        {"u16", ValueType::U16, {Value(uint16_t{65535}), Value(uint16_t{1})}},
        {"i16", ValueType::I16, {Value(int16_t{-32768}), Value(int16_t{-1})}},
        {"u32", ValueType::U32, {Value(uint32_t{4294967295u}), Value(uint32_t{7})}},
        {"i32", ValueType::I32, {Value(int32_t{-2147483647 - 1}), Value(int32_t{3})}},
        {"f32", ValueType::F32, {Value(-0.0f), Value(std::numeric_limits<float>::denorm_min()),
                                 Value(std::numeric_limits<float>::infinity())}},
        {"bool", ValueType::Bool, {Value(true), Value(false), Value(true)}},
        {"u64", ValueType::U64, {Value(uint64_t{18446744073709551615ull})}},
        {"i64", ValueType::I64, {Value(int64_t{-9223372036854775807ll - 1})}},
        {"f64", ValueType::F64, {Value(1e300), Value(-2.5)}},
        {"strings", ValueType::String, {Value::string(""), Value::string("\xC3\xA7"),
                                        Value::string(std::string(300, 'x')), Value::string("")}},
        {"empty", ValueType::I32, {}},
        {"nested", ValueType::Array, {array(ValueType::String, {Value::string("a")}),
                                      array(ValueType::U16, {Value(uint16_t{9}), Value(uint16_t{10})})}},
    };
}

// Same type and value; arrays element by element.
bool same_value(const Value& a, const Value& b) {
    if (a.type() != b.type()) return false;
    if (const Array* x = a.as_array()) {
        const Array* y = b.as_array();
        if (x->element_type() != y->element_type() || x->size() != y->size()) return false;
        for (size_t i = 0; i < x->size(); ++i)
            if (!same_value(x->at(i), y->at(i))) return false;
        return true;
    }
    return std::visit(
        [&](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, Array>) return false;
            else return v == std::get<T>(b.data);
        },
        a.data);
}

}  // namespace

TEST_CASE("metadata arrays of every element type keep each element's type and value", "[gguf]") {
    const std::vector<ArrayCase> cases = arrays_of_every_type();
    std::vector<KeyValue> metadata;
    for (const ArrayCase& c : cases) metadata.push_back({c.key, Value::array(c.type, c.elements)});
    const std::string dir = testing::temp_dir("gguf-arrays");
    const std::string path = dir + "/arrays.gguf";
    write_gguf(path, metadata, {});
    const auto file = GgufFile::open(path);
    for (const ArrayCase& c : cases) {
        INFO(c.key);
        const Array* read = file->require(c.key).as_array();
        REQUIRE(read != nullptr);
        CHECK(read->element_type() == c.type);
        REQUIRE(read->size() == c.elements.size());
        for (size_t i = 0; i < read->size(); ++i) {
            const Value& a = c.elements[i];
            const Value b = read->at(i);
            INFO(i << ": " << a.summary() << " read as " << b.summary());
            CHECK(same_value(a, b));
        }
    }
    const auto* f32 = file->require("f32").as_array();
    CHECK(std::signbit(*f32->at(0).as_double()));
    CHECK(*file->require("i64").as_array()->at(0).as_int() == std::numeric_limits<int64_t>::min());
    CHECK(*file->require("strings").as_array()->at(2).as_string() == std::string(300, 'x'));
    CHECK(file->require("nested").as_array()->at(1).as_array()->at(1).as_int() == 10);

    // Written again, the file is the same bytes.
    const std::string copy = dir + "/copy.gguf";
    write_gguf(copy, file->metadata(), {});
    CHECK(testing::read_text_file(copy) == testing::read_text_file(path));
}

TEST_CASE("an array refuses an element of another type and an index past its end", "[gguf]") {
    CHECK_THROWS_WITH(Value::array(ValueType::U32, {Value(uint32_t{1}), Value(int32_t{2})}),
                      Catch::Contains("declared as u32 holds a i32"));
    Array strings(ValueType::String);
    strings.push_back(Value::string("a"));
    CHECK_THROWS_WITH(strings.push_back(Value(1.0f)), Catch::Contains("declared as string holds a f32"));
    CHECK(strings.size() == 1);
    CHECK_THROWS_WITH(strings.at(1), Catch::Contains("no element 1"));
}
