// A corpus of deliberately broken GGUF files, each built byte by byte, each with the message it
// must produce. The reader must reject every one with an Error naming the problem (never crash,
// never read out of bounds: run under ASan too), and the CLI must turn it into one line, exit 2.
#include <catch2/catch.hpp>

#include <cstring>
#include <fstream>
#include <functional>

#include "common/error.h"
#include "gguf/gguf_file.h"
#include "support/run_cli.h"
#include "support/shared_data.h"

using namespace dilmodeli;
using namespace dilmodeli::testing;

namespace {

// Builds GGUF bytes field by field so that each test can break exactly one of them.
struct Bytes {
    std::string b;
    template <typename T>
    Bytes& put(T v) {
        b.append(reinterpret_cast<const char*>(&v), sizeof v);
        return *this;
    }
    Bytes& str(const std::string& s) {
        put<uint64_t>(s.size());
        b += s;
        return *this;
    }
    Bytes& pad_to(size_t alignment) {
        while (b.size() % alignment) b.push_back('\0');
        return *this;
    }
};

struct TensorSpec {
    std::string name = "w";
    std::vector<uint64_t> dims = {8, 2};
    uint32_t type = 0;
    uint64_t offset = 0;
    uint32_t n_dims_override = 0;  // 0: dims.size()
};

// The knobs of a small valid file: 1 u32 alignment key, 1 string key, 2 tensors (F32 and Q8_0).
struct Spec {
    uint32_t magic_version = 3;
    std::string magic = "GGUF";
    std::function<void(Bytes&)> metadata = [](Bytes& m) {
        m.str("general.alignment").put<uint32_t>(4).put<uint32_t>(32);
        m.str("general.name").put<uint32_t>(8).str("tiny");
    };
    uint64_t kv_count = 2;
    std::vector<TensorSpec> tensors = {TensorSpec{"a", {8, 2}, 0, 0},
                                       TensorSpec{"b", {32, 1}, 8, 64}};
    size_t data_bytes = 64 + 34;
    std::optional<uint64_t> tensor_count;
};

std::string build(const Spec& s) {
    Bytes out;
    out.b += s.magic;
    out.put<uint32_t>(s.magic_version);
    out.put<uint64_t>(s.tensor_count.value_or(s.tensors.size()));
    out.put<uint64_t>(s.kv_count);
    s.metadata(out);
    for (const TensorSpec& t : s.tensors) {
        out.str(t.name);
        out.put<uint32_t>(t.n_dims_override ? t.n_dims_override : uint32_t(t.dims.size()));
        for (uint64_t d : t.dims) out.put<uint64_t>(d);
        out.put<uint32_t>(t.type);
        out.put<uint64_t>(t.offset);
    }
    out.pad_to(32);
    out.b.append(s.data_bytes, '\x01');
    return out.b;
}

struct Case {
    std::string name;
    std::string bytes;
    std::string expected;  // substring of the error message
};

std::vector<Case> corpus() {
    std::vector<Case> cases;
    auto add = [&](std::string name, std::string bytes, std::string expected) {
        cases.push_back({std::move(name), std::move(bytes), std::move(expected)});
    };
    auto with = [](std::function<void(Spec&)> change) {
        Spec s;
        change(s);
        return build(s);
    };
    const std::string valid = build(Spec{});

    add("empty", "", "file is empty");
    add("wrong-magic", with([](Spec& s) { s.magic = "GGML"; }), "not a GGUF file (magic is \"GGML\"");
    add("version-1", with([](Spec& s) { s.magic_version = 1; }), "GGUF version 1 is obsolete");
    add("version-4", with([](Spec& s) { s.magic_version = 4; }), "unsupported GGUF version 4");
    add("truncated-in-header", valid.substr(0, 6), "truncated file: version");
    add("truncated-in-counts", valid.substr(0, 20), "truncated file: metadata count");
    add("huge-tensor-count", with([](Spec& s) { s.tensor_count = 1ull << 60; }), "tensor count 1152921504606846976 cannot fit");
    add("huge-metadata-count", with([](Spec& s) { s.kv_count = 1ull << 40; }), "metadata count 1099511627776 cannot fit");
    add("huge-key-length", with([](Spec& s) {
            s.metadata = [](Bytes& m) { m.put<uint64_t>(1ull << 50); };
        }), "metadata entry 0 key length 1125899906842624");
    add("unknown-value-type", with([](Spec& s) {
            s.metadata = [](Bytes& m) { m.str("k").put<uint32_t>(13).put<uint32_t>(0); };
            s.kv_count = 1;
        }), "metadata key 'k' has unknown value type 13");
    add("huge-array-count", with([](Spec& s) {
            s.metadata = [](Bytes& m) { m.str("arr").put<uint32_t>(9).put<uint32_t>(8).put<uint64_t>(1ull << 33); };
            s.kv_count = 1;
        }), "array count 8589934592 cannot fit");
    add("unknown-array-element-type", with([](Spec& s) {
            s.metadata = [](Bytes& m) { m.str("arr").put<uint32_t>(9).put<uint32_t>(77).put<uint64_t>(1); };
            s.kv_count = 1;
        }), "unknown array element type 77");
    add("arrays-nested-too-deep", with([](Spec& s) {
            s.metadata = [](Bytes& m) {
                m.str("deep").put<uint32_t>(9);
                for (int i = 0; i < 10; ++i) m.put<uint32_t>(9).put<uint64_t>(1);
                m.put<uint32_t>(4).put<uint64_t>(1).put<uint32_t>(7);
            };
            s.kv_count = 1;
        }), "arrays nested deeper than 8");
    add("string-longer-than-file", with([](Spec& s) {
            s.metadata = [](Bytes& m) { m.str("general.name").put<uint32_t>(8).put<uint64_t>(5000).put<uint32_t>(0); };
            s.kv_count = 1;
        }), "metadata key 'general.name' length 5000");
    add("bool-not-0-or-1", with([](Spec& s) {
            s.metadata = [](Bytes& m) { m.str("flag").put<uint32_t>(7).put<uint8_t>(2); };
            s.kv_count = 1;
        }), "bool value 2 is neither 0 nor 1");
    add("alignment-not-power-of-two", with([](Spec& s) {
            s.metadata = [](Bytes& m) { m.str("general.alignment").put<uint32_t>(4).put<uint32_t>(48); };
            s.kv_count = 1;
        }), "general.alignment 48 is not a power of two");
    add("alignment-wrong-type", with([](Spec& s) {
            s.metadata = [](Bytes& m) { m.str("general.alignment").put<uint32_t>(8).str("32"); };
            s.kv_count = 1;
        }), "general.alignment has type string, expected u32");
    add("duplicate-key", with([](Spec& s) {
            s.metadata = [](Bytes& m) {
                m.str("general.name").put<uint32_t>(8).str("a");
                m.str("general.name").put<uint32_t>(8).str("b");
            };
        }), "duplicate metadata key 'general.name'");
    add("five-dimensions", with([](Spec& s) { s.tensors[0].dims = {8, 1, 1, 1, 2}; }), "tensor 'a' has 5 dimensions");
    add("zero-dimensions", with([](Spec& s) { s.tensors[0].dims = {}; }), "tensor 'a' has 0 dimensions");
    add("element-count-overflow", with([](Spec& s) { s.tensors[0].dims = {1ull << 32, 1ull << 32}; }),
        "tensor 'a' shape overflows a 64-bit element count");
    add("dimension-too-large", with([](Spec& s) { s.tensors[0].dims = {~0ull}; }), "dimension 0 is 18446744073709551615, too large");
    add("unknown-tensor-type", with([](Spec& s) { s.tensors[1].type = 99; }), "tensor 'b' has unknown tensor type id 99");
    add("row-not-multiple-of-block", with([](Spec& s) { s.tensors[1].dims = {30, 1}; }),
        "tensor 'b' row length 30 is not a multiple of Q8_0's block size 32");
    add("unaligned-offset", with([](Spec& s) { s.tensors[1].offset = 40; }),
        "tensor 'b' data offset 40 is not a multiple of the alignment 32");
    add("offset-past-end", with([](Spec& s) { s.tensors[1].offset = 1 << 20; }),
        "tensor 'b' data [1048576, +34) lies outside the data section");
    add("overlapping-tensors", with([](Spec& s) { s.tensors[1].offset = 32; }), "overlaps tensor 'a'");
    add("duplicate-tensor-name", with([](Spec& s) { s.tensors[1].name = "a"; }), "duplicate tensor name 'a'");
    add("truncated-in-tensor-infos", valid.substr(0, valid.size() - 98 - 20), "truncated file: tensor");
    add("truncated-data-section", valid.substr(0, valid.size() - 10), "lies outside the data section");
    {
        Bytes b;
        b.b = "GGUF";
        b.put<uint32_t>(3).put<uint64_t>(1).put<uint64_t>(0).put<uint64_t>(~0ull >> 4).put<uint64_t>(0).put<uint64_t>(0).put<uint64_t>(0);
        add("huge-tensor-name-length", b.b, "tensor 0 name length 1152921504606846975");
    }
    return cases;
}

std::string write_case(const std::string& dir, const Case& c) {
    std::string path = dir + "/" + c.name + ".gguf";
    std::ofstream(path, std::ios::binary) << c.bytes;
    return path;
}

}  // namespace

TEST_CASE("the corpus's base file is valid", "[gguf]") {
    const std::string dir = temp_dir("corrupt-base");
    std::string path = write_case(dir, {"valid", build(Spec{}), ""});
    auto f = gguf::GgufFile::open(path);
    REQUIRE(f->tensors().size() == 2);
    CHECK(f->get_string("general.name") == "tiny");
    CHECK(f->require_tensor("b").type == quant::TypeId::Q8_0);
    CHECK(f->data_offset() % 32 == 0);
}

TEST_CASE("every broken GGUF in the corpus is rejected with its own message", "[gguf]") {
    const std::string dir = temp_dir("corrupt");
    const auto cases = corpus();
    REQUIRE(cases.size() >= 20);
    for (const Case& c : cases) {
        SECTION(c.name) {
            const std::string path = write_case(dir, c);
            try {
                gguf::GgufFile::open(path);
                FAIL("accepted a broken file: " << c.name);
            } catch (const Error& e) {
                INFO(c.name << ": " << e.what());
                CHECK(e.kind() == ErrorKind::BadInput);
                CHECK_THAT(e.what(), Catch::Contains(c.expected));
                CHECK_THAT(e.what(), Catch::StartsWith(path));
            }
        }
    }
}

TEST_CASE("inspect turns a broken file into one line on stderr and exit code 2", "[gguf][cli]") {
    const std::string dir = temp_dir("corrupt-cli");
    for (const Case& c : corpus()) {
        const std::string path = write_case(dir, c);
        CliResult r = run_cli("inspect " + quoted(path));
        INFO(c.name << " stderr: " << r.err);
        CHECK(r.exit_code == 2);
        CHECK(count_lines(r.err) == 1);
        CHECK_THAT(r.err, Catch::Contains(c.expected));
        CHECK(r.out.empty());
    }
}

TEST_CASE("inspect reports missing files, directories and usage errors with their exit codes", "[gguf][cli]") {
    CliResult missing = run_cli("inspect /nonexistent/model.gguf");
    CHECK(missing.exit_code == 2);
    CHECK_THAT(missing.err, Catch::Contains("/nonexistent/model.gguf: no such file"));
    CliResult directory = run_cli("inspect /tmp");
    CHECK(directory.exit_code == 2);
    CHECK_THAT(directory.err, Catch::Contains("is a directory"));
    CliResult no_args = run_cli("inspect");
    CHECK(no_args.exit_code == 1);
    CliResult unknown_flag = run_cli("inspect --bogus x");
    CHECK(unknown_flag.exit_code == 1);
}
