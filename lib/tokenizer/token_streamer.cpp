#include "tokenizer/token_streamer.h"

#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace dilmodeli::tokenizer {

std::string TokenStreamer::push(int32_t id) {
    pending_ += tokenizer_.token_to_piece(id);
    const size_t ready = utf8_complete_prefix_length(pending_);
    std::string out = pending_.substr(0, ready);
    pending_.erase(0, ready);
    return out;
}

std::string TokenStreamer::flush() {
    std::string out;
    out.swap(pending_);
    return out;
}

}  // namespace dilmodeli::tokenizer
