#pragma once
// Writing GGUF v3: header, metadata and tensor infos in the order given, tensor data aligned to
// general.alignment and zero-padded, streamed to a temporary file that is renamed on success.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "gguf/value.h"
#include "quant/quant_type.h"

namespace dilmodeli::gguf {

class GgufFile;

struct TensorToWrite {
    std::string name;
    std::vector<int64_t> dims;
    quant::TypeId type = quant::TypeId::F32;
    // Either bytes already in the stored form...
    const void* data = nullptr;
    // ...or a producer that appends exactly n_bytes to `out` (for tensors made while writing,
    // so a converted model never sits whole in memory).
    std::function<void(std::vector<uint8_t>& out)> produce;

    uint64_t n_bytes() const;  // from type and dims; throws for a row that fits no block
};

struct WriteOptions {
    std::string refuse_overwrite_of;  // the input file; writing onto it is refused
    std::function<void(size_t done, size_t total)> progress;  // after each tensor
};

// Alignment comes from the "general.alignment" entry of `metadata` when present (default 32).
// Returns the number of bytes written.
uint64_t write_gguf(const std::string& path, const std::vector<KeyValue>& metadata,
                    const std::vector<TensorToWrite>& tensors, const WriteOptions& options = {});

// Tensors of an open file as they are stored (views into its mapping), for re-writing.
std::vector<TensorToWrite> tensors_as_stored(const GgufFile& file);

}  // namespace dilmodeli::gguf
