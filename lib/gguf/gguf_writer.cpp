#include "gguf/gguf_writer.h"

#include <type_traits>

#include "common/atomic_file.h"
#include "common/error.h"
#include "gguf/gguf_file.h"

namespace dilmodeli::gguf {
namespace {

class Encoder {
public:
    explicit Encoder(AtomicFileWriter& out) : out_(out) {}

    template <typename T>
    void put(T value) {
        static_assert(std::is_trivially_copyable_v<T>);
        out_.write(&value, sizeof(T));
    }
    void put_string(const std::string& s) {
        put<uint64_t>(s.size());
        out_.write(s.data(), s.size());
    }
    void put_value_body(const Value& value) {
        std::visit(
            [&](const auto& v) {
                using T = std::decay_t<decltype(v)>;
                if constexpr (std::is_same_v<T, std::string>) {
                    put_string(v);
                } else if constexpr (std::is_same_v<T, Array>) {
                    // Array guarantees every element is of its element type.
                    put<uint32_t>(static_cast<uint32_t>(v.element_type()));
                    put<uint64_t>(v.size());
                    for (size_t i = 0; i < v.size(); ++i) put_value_body(v.at(i));
                } else if constexpr (std::is_same_v<T, bool>) {
                    put<uint8_t>(v ? 1 : 0);
                } else {
                    put<T>(v);
                }
            },
            value.data);
    }

private:
    AtomicFileWriter& out_;
};

uint64_t align_up(uint64_t x, uint64_t alignment) { return (x + alignment - 1) / alignment * alignment; }

uint32_t alignment_of(const std::vector<KeyValue>& metadata) {
    for (const KeyValue& kv : metadata) {
        if (kv.key != "general.alignment") continue;
        const uint32_t* a = std::get_if<uint32_t>(&kv.value.data);
        if (!a || *a == 0 || (*a & (*a - 1)) != 0)
            throw usage_error("general.alignment must be a u32 power of two");
        return *a;
    }
    return kDefaultAlignment;
}

}  // namespace

uint64_t TensorToWrite::n_bytes() const {
    const quant::TypeInfo& info = quant::type_info(type);
    if (dims.empty() || dims.size() > kMaxDims)
        throw usage_error("tensor '" + name + "' has " + std::to_string(dims.size()) + " dimensions");
    if (dims[0] % info.block_size != 0)
        throw usage_error("tensor '" + name + "' row length " + std::to_string(dims[0]) +
                          " is not a multiple of " + info.name + "'s block size " +
                          std::to_string(info.block_size));
    uint64_t elements = 1;
    for (int64_t d : dims) elements *= static_cast<uint64_t>(d);
    return elements / info.block_size * info.block_bytes;
}

uint64_t write_gguf(const std::string& path, const std::vector<KeyValue>& metadata,
                    const std::vector<TensorToWrite>& tensors, const WriteOptions& options) {
    const uint32_t alignment = alignment_of(metadata);
    std::vector<uint64_t> offsets;
    uint64_t next = 0;
    for (const TensorToWrite& t : tensors) {
        offsets.push_back(next);
        next = align_up(next + t.n_bytes(), alignment);
    }

    AtomicFileWriter out(path, options.refuse_overwrite_of);
    Encoder enc(out);
    out.write("GGUF", 4);
    enc.put<uint32_t>(3);
    enc.put<uint64_t>(tensors.size());
    enc.put<uint64_t>(metadata.size());
    for (const KeyValue& kv : metadata) {
        enc.put_string(kv.key);
        enc.put<uint32_t>(static_cast<uint32_t>(kv.value.type()));
        enc.put_value_body(kv.value);
    }
    for (size_t i = 0; i < tensors.size(); ++i) {
        const TensorToWrite& t = tensors[i];
        enc.put_string(t.name);
        enc.put<uint32_t>(static_cast<uint32_t>(t.dims.size()));
        for (int64_t d : t.dims) enc.put<uint64_t>(static_cast<uint64_t>(d));
        enc.put<uint32_t>(static_cast<uint32_t>(t.type));
        enc.put<uint64_t>(offsets[i]);
    }
    // llama.cpp pads the header to the alignment only when a data section follows it.
    if (!tensors.empty()) out.write_zeros(align_up(out.bytes_written(), alignment) - out.bytes_written());

    const uint64_t data_start = out.bytes_written();
    std::vector<uint8_t> produced;
    for (size_t i = 0; i < tensors.size(); ++i) {
        const TensorToWrite& t = tensors[i];
        const uint64_t size = t.n_bytes();
        if (t.produce) {
            produced.clear();
            t.produce(produced);
            if (produced.size() != size)
                throw usage_error("tensor '" + t.name + "': producer made " +
                                  std::to_string(produced.size()) + " bytes, expected " +
                                  std::to_string(size));
            out.write(produced.data(), produced.size());
        } else {
            if (!t.data && size > 0) throw usage_error("tensor '" + t.name + "' has no data");
            out.write(t.data, size);
        }
        const uint64_t end = out.bytes_written() - data_start;
        out.write_zeros(align_up(end, alignment) - end);
        if (options.progress) options.progress(i + 1, tensors.size());
    }
    out.commit();
    return out.bytes_written();
}

std::vector<TensorToWrite> tensors_as_stored(const GgufFile& file) {
    std::vector<TensorToWrite> out;
    out.reserve(file.tensors().size());
    for (const TensorInfo& t : file.tensors()) {
        TensorToWrite w;
        w.name = t.name;
        w.dims = t.dims;
        w.type = t.type;
        w.data = t.data;
        out.push_back(std::move(w));
    }
    return out;
}

}  // namespace dilmodeli::gguf
