#include "tokenizer/tokenizer_metadata.h"

#include "common/error.h"
#include "gguf/gguf_file.h"

namespace dilmodeli::tokenizer {

namespace {

std::optional<int64_t> optional_int(const gguf::GgufFile& file, const char* key) {
    if (!file.has(key)) return std::nullopt;
    return file.get_int(key);
}

std::optional<bool> optional_bool(const gguf::GgufFile& file, const char* key) {
    if (!file.has(key)) return std::nullopt;
    return file.get_bool_or(key, false);
}

}  // namespace

TokenizerMetadata read_tokenizer_metadata(const gguf::GgufFile& file) {
    TokenizerMetadata m;
    if (!file.has(keys::kModel)) {
        throw input_error(file.path(), std::string("missing metadata key '") + keys::kModel +
                                           "': the file has no tokenizer");
    }
    m.model = file.get_string(keys::kModel);
    if (file.has(keys::kPre)) m.pre = file.get_string(keys::kPre);
    m.tokens = StringList(file.require_string_array(keys::kTokens));
    if (file.has(keys::kScores)) {
        const std::vector<double> scores = file.get_float_array(keys::kScores);
        // Stored as f32 in practice; the round trip through double is exact.
        m.scores.emplace(scores.begin(), scores.end());
    }
    if (file.has(keys::kTokenType)) m.token_types = file.get_int_array(keys::kTokenType);
    if (file.has(keys::kMerges)) m.merges = StringList(file.require_string_array(keys::kMerges));
    m.bos_id = optional_int(file, keys::kBosId);
    m.eos_id = optional_int(file, keys::kEosId);
    m.eot_id = optional_int(file, keys::kEotId);
    m.unk_id = optional_int(file, keys::kUnkId);
    m.pad_id = optional_int(file, keys::kPadId);
    m.add_bos = optional_bool(file, keys::kAddBos);
    m.add_eos = optional_bool(file, keys::kAddEos);
    m.add_space_prefix = optional_bool(file, keys::kAddSpacePrefix);
    if (const gguf::Value* name = file.find(keys::kGeneralName); name && name->as_string()) {
        m.general_name = *name->as_string();
    }
    return m;
}

}  // namespace dilmodeli::tokenizer
