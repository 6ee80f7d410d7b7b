#include "tokenizer/string_table.h"

#include "common/error.h"

namespace dilmodeli::tokenizer {

void StringTable::push_back(std::string_view s) {
    start();
    append_to_last(s);
}

void StringTable::append_to_last(std::string_view s) {
    if (s.size() > UINT32_MAX - bytes_.size())
        throw Error(ErrorKind::BadInput, "token strings exceed 4 GiB in all");
    bytes_.append(s);
    ends_.back() = static_cast<uint32_t>(bytes_.size());
}

void StringTable::shrink_to_fit() {
    bytes_.shrink_to_fit();
    ends_.shrink_to_fit();
}

}  // namespace dilmodeli::tokenizer
