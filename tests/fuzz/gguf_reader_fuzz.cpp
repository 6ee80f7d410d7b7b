// libFuzzer target: any bytes given to the GGUF reader either parse or raise dilmodeli::Error;
// what parses is then summarised, configured as a model and dequantized row by row, so every
// consumer of the reader's validation is exercised too. Built by scripts/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/error.h"
#include "gguf/file_summary.h"
#include "gguf/gguf_file.h"
#include "model/model_config.h"
#include "tokenizer/tokenizer.h"

using namespace dilmodeli;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::unique_ptr<gguf::GgufFile> file;
    try {
        file = gguf::GgufFile::from_memory(data, size, "fuzz.gguf");
    } catch (const Error&) {
        return 0;
    }
    (void)gguf::format_summary(gguf::summarize(*file, true));
    try {
        (void)model::ModelConfig::from_gguf(*file);
    } catch (const Error&) {
    }
    try {
        auto tokenizer = tokenizer::Tokenizer::from_gguf(*file);
        (void)tokenizer->decode(tokenizer->encode("Merhaba, nasılsın?", true));
    } catch (const Error&) {
    }
    std::vector<float> row;
    for (const gguf::TensorInfo& t : file->tensors()) {
        const quant::TypeInfo& info = t.type_info();
        if (!info.dequantize_row || t.n_rows() == 0 || t.row_length() > (1 << 16)) continue;
        row.resize(size_t(t.row_length()));
        info.dequantize_row(t.data, row.data(), t.row_length());
    }
    return 0;
}
