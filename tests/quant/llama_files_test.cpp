// Our conversions against files written by llama.cpp's own llama-quantize (see
// ../shared/models/README.md): reading them, reproducing them byte for byte where llama.cpp's
// quantizer is deterministic and simple, and matching their reconstruction error otherwise.
//
// Set DILMODELI_QUANT_REPORT=1 to print the measured errors.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "gguf/gguf_file.h"
#include "quant/quant_type.h"
#include "support/shared_data.h"

using dilmodeli::gguf::GgufFile;
using dilmodeli::gguf::TensorInfo;
using namespace dilmodeli::quant;
using dilmodeli::testing::have_shared;
using dilmodeli::testing::shared_path;

namespace {

const std::string kStories = "models/stories260K/";
const std::string kTiny = "models/tinystories-5M/";

bool reporting() {
    const char* v = std::getenv("DILMODELI_QUANT_REPORT");
    return v && std::string(v) == "1";
}

std::vector<float> tensor_as_floats(const TensorInfo& t) {
    const TypeInfo& type = t.type_info();
    REQUIRE(type.dequantize_row != nullptr);
    const int64_t length = t.row_length();
    std::vector<float> out(size_t(t.n_elements()));
    for (int64_t row = 0; row < t.n_rows(); ++row)
        type.dequantize_row(t.data + size_t(row) * type.row_bytes(length), out.data() + row * length, length);
    return out;
}

std::vector<uint8_t> quantize_rows(const std::vector<float>& x, int64_t length, const TypeInfo& type) {
    std::vector<uint8_t> out(type.row_bytes(length) * (x.size() / size_t(length)));
    for (size_t row = 0; row * size_t(length) < x.size(); ++row)
        type.quantize_row(x.data() + row * size_t(length), out.data() + row * type.row_bytes(length), length, nullptr);
    return out;
}

std::vector<float> dequantize_rows(const std::vector<uint8_t>& stored, int64_t length, size_t count,
                                   const TypeInfo& type) {
    std::vector<float> out(count);
    for (size_t row = 0; row * size_t(length) < count; ++row)
        type.dequantize_row(stored.data() + row * type.row_bytes(length), out.data() + row * size_t(length), length);
    return out;
}

double squared_error(const std::vector<float>& a, const std::vector<float>& b) {
    double sum = 0;
    for (size_t i = 0; i < a.size(); ++i) sum += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    return sum;
}

double squared_norm(const std::vector<float>& a) {
    double sum = 0;
    for (float v : a) sum += double(v) * v;
    return sum;
}

// Relative RMS error bounds, per tensor, for llama.cpp's tensors of each type against the F32
// originals of these two models. The estimates of round_trip_test.cpp apply; real tensors are
// heavier-tailed than a Gaussian (block absmax / RMS ~ 2.7 here rather than 2.1), which makes
// e.g. Q8_0 2.7 / (127 sqrt(12)) = 0.61%. Each bound is ~1.25x the worst tensor measured (in
// parentheses), so a decoding bug (errors of 100% and more) or a precision loss fails.
const std::map<TypeId, double> kFileBounds = {
    {TypeId::F32, 0.0},      // stored as is
    {TypeId::F16, 3e-4},     // half-ulp rounding, RMS <= 2^-11 / sqrt(3)   (0.021%)
    {TypeId::Q8_0, 0.008},   //                                             (0.62%)
    {TypeId::Q6_K, 0.023},   //                                             (1.8%)
    {TypeId::Q5_0, 0.063},   //                                             (5.0%)
    {TypeId::Q5_K, 0.046},   //                                             (3.6%)
    {TypeId::Q4_0, 0.12},    //                                             (9.6%)
    {TypeId::IQ4_NL, 0.105}, //                                             (8.4%)
    {TypeId::Q4_K, 0.09},    //                                             (7.2%)
    {TypeId::Q3_K, 0.19},    //                                             (15.3%)
    {TypeId::Q2_K, 0.37},    //                                             (29.7%)
    // Ternary with d = absmax of 256: elements below d/2 (most of them) become zero. The bound
    // only says the tensor still carries signal.                              (81.8%)
    {TypeId::TQ2_0, 0.9},
};

struct FilePair {
    std::string quantized;
    std::string reference;  // the F32 file
};

std::vector<FilePair> llama_files() {
    std::vector<FilePair> files;
    for (const char* name : {"F16", "Q8_0", "Q4_0", "Q4_K_M", "Q2_K"})
        files.push_back({kStories + "stories260K-" + name + ".gguf", kStories + "stories260K.gguf"});
    for (const char* name : {"F16", "Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "Q4_0", "Q3_K_M", "Q2_K", "TQ2_0"})
        files.push_back({kTiny + "tinystories-5M-" + name + ".gguf", kTiny + "tinystories-5M-F32.gguf"});
    return files;
}

}  // namespace

TEST_CASE("llama.cpp's quantized files dequantize close to their F32 originals", "[quant][files]") {
    for (const auto& pair : llama_files()) {
        if (!have_shared(pair.quantized) || !have_shared(pair.reference)) return;
        const auto file = GgufFile::open(shared_path(pair.quantized));
        const auto reference = GgufFile::open(shared_path(pair.reference));
        std::map<TypeId, std::pair<double, double>> worst_and_count;
        for (const auto& t : file->tensors()) {
            INFO(pair.quantized << ": " << t.name << " (" << t.type_info().name << ")");
            const TensorInfo* original = reference->find_tensor(t.name);
            REQUIRE(original != nullptr);
            REQUIRE(original->type == TypeId::F32);
            REQUIRE(original->dims == t.dims);
            REQUIRE(kFileBounds.count(t.type) == 1);
            const auto ours = tensor_as_floats(t);
            const auto exact = tensor_as_floats(*original);
            const double error = std::sqrt(squared_error(ours, exact) / squared_norm(exact));
            CHECK(error <= kFileBounds.at(t.type));
            auto& [worst, count] = worst_and_count[t.type];
            worst = std::max(worst, error);
            count += 1;
        }
        if (reporting())
            for (const auto& [type, stats] : worst_and_count)
                std::printf("%-40s %-7s %3d tensors, worst relative RMS error %.5f\n", pair.quantized.c_str(),
                            type_info(type).name, int(stats.second), stats.first);
    }
}

namespace {

// Quantizes every F32 original of the tensors stored as `type` in `quantized` and compares bytes.
void require_identical_bytes(const std::string& quantized, const std::string& reference, TypeId type) {
    if (!have_shared(quantized) || !have_shared(reference)) return;
    const auto file = GgufFile::open(shared_path(quantized));
    const auto original_file = GgufFile::open(shared_path(reference));
    const TypeInfo& info = type_info(type);
    int compared = 0;
    for (const auto& t : file->tensors()) {
        if (t.type != type) continue;
        INFO(quantized << ": " << t.name);
        const TensorInfo* original = original_file->find_tensor(t.name);
        REQUIRE(original != nullptr);
        const auto ours = quantize_rows(tensor_as_floats(*original), t.row_length(), info);
        REQUIRE(ours.size() == t.n_bytes);
        size_t differing = 0;
        for (size_t i = 0; i < ours.size(); ++i) differing += ours[i] != t.data[i];
        CHECK(differing == 0);
        ++compared;
    }
    if (reporting()) std::printf("%-40s %-5s %d tensors compared byte for byte\n", quantized.c_str(), info.name, compared);
    CHECK(compared > 0);
}

}  // namespace

TEST_CASE("Q8_0, Q4_0, Q5_0 and F16 quantization is byte-identical to llama.cpp's", "[quant][files]") {
    const std::string tiny_f32 = kTiny + "tinystories-5M-F32.gguf";
    const std::string stories_f32 = kStories + "stories260K.gguf";
    require_identical_bytes(kTiny + "tinystories-5M-Q8_0.gguf", tiny_f32, TypeId::Q8_0);
    require_identical_bytes(kTiny + "tinystories-5M-Q4_0.gguf", tiny_f32, TypeId::Q4_0);
    require_identical_bytes(kStories + "stories260K-Q8_0.gguf", stories_f32, TypeId::Q8_0);
    require_identical_bytes(kStories + "stories260K-Q4_0.gguf", stories_f32, TypeId::Q4_0);
    // Q5_0 is llama.cpp's fallback for Q4_K_M on stories260K, also quantized by its reference code.
    require_identical_bytes(kStories + "stories260K-Q4_K_M.gguf", stories_f32, TypeId::Q5_0);
    require_identical_bytes(kTiny + "tinystories-5M-F16.gguf", tiny_f32, TypeId::F16);
}

TEST_CASE("our K-quant and ternary reconstruction error is no worse than llama.cpp's", "[quant][files]") {
    // (file, type): every tensor of that type in the file. Errors are summed over the file. The
    // 2% slack covers legitimate differences in rounding ties: llama.cpp's build may fuse
    // multiply-adds in its scale search, which can flip a near-tie to the other candidate.
    struct Case {
        std::string file;
        TypeId type;
    };
    const std::vector<Case> cases = {
        {"tinystories-5M-Q6_K.gguf", TypeId::Q6_K},   {"tinystories-5M-Q5_K_M.gguf", TypeId::Q5_K},
        {"tinystories-5M-Q4_K_M.gguf", TypeId::Q4_K}, {"tinystories-5M-Q3_K_M.gguf", TypeId::Q3_K},
        {"tinystories-5M-Q2_K.gguf", TypeId::Q2_K},   {"tinystories-5M-TQ2_0.gguf", TypeId::TQ2_0},
    };
    const std::string reference_path = kTiny + "tinystories-5M-F32.gguf";
    if (!have_shared(reference_path)) return;
    const auto reference = GgufFile::open(shared_path(reference_path));
    constexpr double kSlack = 1.02;
    for (const auto& c : cases) {
        const std::string path = kTiny + c.file;
        if (!have_shared(path)) return;
        const auto file = GgufFile::open(shared_path(path));
        const TypeInfo& info = type_info(c.type);
        double ours_error = 0, theirs_error = 0, signal = 0;
        size_t identical_bytes = 0, total_bytes = 0;
        for (const auto& t : file->tensors()) {
            if (t.type != c.type) continue;
            const auto exact = tensor_as_floats(*reference->find_tensor(t.name));
            const auto stored = quantize_rows(exact, t.row_length(), info);
            ours_error += squared_error(dequantize_rows(stored, t.row_length(), exact.size(), info), exact);
            theirs_error += squared_error(tensor_as_floats(t), exact);
            signal += squared_norm(exact);
            for (size_t i = 0; i < stored.size(); ++i) identical_bytes += stored[i] == t.data[i];
            total_bytes += stored.size();
        }
        REQUIRE(total_bytes > 0);
        const double ours = std::sqrt(ours_error / signal), theirs = std::sqrt(theirs_error / signal);
        if (reporting())
            std::printf("%-28s %-5s relative RMS error: ours %.6f, llama.cpp %.6f; %.4f%% of bytes identical\n",
                        c.file.c_str(), info.name, ours, theirs, 100.0 * double(identical_bytes) / double(total_bytes));
        INFO(c.file << " " << info.name << ": ours " << ours << ", llama.cpp " << theirs);
        CHECK(ours <= theirs * kSlack);
    }
}
