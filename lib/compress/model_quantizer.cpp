#include "compress/model_quantizer.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "common/error.h"
#include "compress/tensor_roles.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"

namespace dilmodeli::compress {
namespace {

using quant::TypeId;

struct RowErrors {
    std::vector<double> squared_error, squared_norm;  // per row, summed in row order afterwards
};

// Converts `t` to `target` row by row in parallel; fills `out` (when not null) and the per-row
// error against the input's values. Results do not depend on the thread count.
void convert_tensor(const gguf::TensorInfo& t, TypeId target, const std::vector<float>* importance,
                    std::vector<uint8_t>* out, RowErrors& errors) {
    const quant::TypeInfo& from = t.type_info();
    const quant::TypeInfo& to = quant::type_info(target);
    const int64_t cols = t.row_length(), rows = t.n_rows();
    const size_t in_row_bytes = from.row_bytes(cols), out_row_bytes = to.row_bytes(cols);
    if (!from.dequantize_row) throw usage_error("tensor '" + t.name + "' of type " + from.name + " cannot be read");
    if (!to.quantize_row) throw usage_error(std::string("type ") + to.name + " cannot be produced");
    if (out) out->resize(out_row_bytes * size_t(rows));
    errors.squared_error.assign(size_t(rows), 0.0);
    errors.squared_norm.assign(size_t(rows), 0.0);
    const float* weights = importance && int64_t(importance->size()) == cols ? importance->data() : nullptr;
    tbb::parallel_for(tbb::blocked_range<int64_t>(0, rows, 8), [&](const tbb::blocked_range<int64_t>& r) {
        std::vector<float> source(static_cast<size_t>(cols)), back(static_cast<size_t>(cols));
        std::vector<uint8_t> scratch(out ? 0 : out_row_bytes);
        for (int64_t i = r.begin(); i < r.end(); ++i) {
            from.dequantize_row(t.data + size_t(i) * in_row_bytes, source.data(), cols);
            uint8_t* dst = out ? out->data() + size_t(i) * out_row_bytes : scratch.data();
            to.quantize_row(source.data(), dst, cols, weights);
            to.dequantize_row(dst, back.data(), cols);
            double e = 0, n = 0;
            for (int64_t c = 0; c < cols; ++c) {
                const double d = double(back[size_t(c)]) - double(source[size_t(c)]);
                e += d * d;
                n += double(source[size_t(c)]) * double(source[size_t(c)]);
            }
            errors.squared_error[size_t(i)] = e;
            errors.squared_norm[size_t(i)] = n;
        }
    });
}

double relative_error(const RowErrors& e) {
    double err = 0, norm = 0;
    for (size_t i = 0; i < e.squared_error.size(); ++i) {
        err += e.squared_error[i];
        norm += e.squared_norm[i];
    }
    return norm > 0 ? std::sqrt(err / norm) : (err > 0 ? 1.0 : 0.0);
}

}  // namespace

std::vector<TensorChoice> plan_uniform(const gguf::GgufFile& file, TypeId type, bool uniform_output) {
    std::vector<TensorChoice> plan;
    for (const gguf::TensorInfo& t : file.tensors()) {
        TensorChoice c{t.name, t.type, ""};
        if (!is_quantizable(t)) {
            c.note = "kept (not a weight matrix)";
            plan.push_back(c);
            continue;
        }
        TypeId wanted = type;
        if (t.name == "output.weight" && !uniform_output) wanted = output_type_for(type);
        c.type = fallback_type(wanted, t.row_length());
        if (c.type != wanted)
            c.note = std::string("row of ") + std::to_string(t.row_length()) + " fits no " +
                     quant::type_info(wanted).name + " block: " + quant::type_info(c.type).name;
        else if (wanted != type)
            c.note = std::string("output head: ") + quant::type_info(wanted).name + " as llama.cpp does";
        plan.push_back(c);
    }
    return plan;
}

double measure_error(const gguf::GgufFile& input, const std::string& tensor, TypeId type,
                     const std::vector<float>* importance) {
    RowErrors errors;
    convert_tensor(input.require_tensor(tensor), type, importance, nullptr, errors);
    return relative_error(errors);
}

QuantizeReport quantize_model(const gguf::GgufFile& input, const QuantizeJob& job) {
    const auto start = std::chrono::steady_clock::now();
    const auto& tensors = input.tensors();
    if (job.plan.size() != tensors.size())
        throw usage_error("quantization plan has " + std::to_string(job.plan.size()) + " entries for " +
                          std::to_string(tensors.size()) + " tensors");

    QuantizeReport report;
    report.tensors.resize(tensors.size());
    std::vector<gguf::TensorToWrite> out;
    for (size_t i = 0; i < tensors.size(); ++i) {
        const gguf::TensorInfo& t = tensors[i];
        const TensorChoice& c = job.plan[i];
        if (c.name != t.name) throw usage_error("quantization plan entry " + std::to_string(i) + " names '" + c.name +
                                                "', the file has '" + t.name + "'");
        const quant::TypeInfo& to = quant::type_info(c.type);
        if (t.row_length() % to.block_size != 0)
            throw usage_error("tensor '" + t.name + "': row of " + std::to_string(t.row_length()) +
                              " is not a multiple of " + to.name + "'s block");
        gguf::TensorToWrite w;
        w.name = t.name;
        w.dims = t.dims;
        w.type = c.type;
        TensorReport& r = report.tensors[i];
        r.name = t.name;
        r.shape = t.dims;
        r.from_type = t.type_info().name;
        r.to_type = to.name;
        r.note = c.note;
        r.bytes = w.n_bytes();
        r.bits_per_weight = 8.0 * double(r.bytes) / double(std::max<int64_t>(1, t.n_elements()));
        report.parameters += t.n_elements();
        report.tensor_bytes += r.bytes;
        if (c.type == t.type) {
            w.data = t.data;  // unchanged: copied as stored, bit for bit
        } else {
            const std::vector<float>* importance = nullptr;
            if (job.importance) {
                auto it = job.importance->find(t.name);
                if (it != job.importance->end()) importance = &it->second;
            }
            w.produce = [&t, &r, c, importance](std::vector<uint8_t>& bytes) {
                RowErrors errors;
                convert_tensor(t, c.type, importance, &bytes, errors);
                r.relative_rms_error = relative_error(errors);
            };
        }
        out.push_back(std::move(w));
    }

    std::vector<gguf::KeyValue> metadata = input.metadata();
    auto set = [&](const std::string& key, gguf::Value v) {
        for (gguf::KeyValue& kv : metadata)
            if (kv.key == key) {
                kv.value = std::move(v);
                return;
            }
        metadata.push_back({key, std::move(v)});
    };
    set("general.file_type", gguf::Value(job.file_type));
    // llama-quantize records the ggml quantization format version on every file it writes.
    set("general.quantization_version", gguf::Value(uint32_t(2)));

    gguf::WriteOptions options;
    options.refuse_overwrite_of = input.path();
    options.progress = job.progress;
    report.file_bytes = gguf::write_gguf(job.output_path, metadata, out, options);
    report.bits_per_weight = 8.0 * double(report.tensor_bytes) / double(std::max<int64_t>(1, report.parameters));
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return report;
}

}  // namespace dilmodeli::compress
