#pragma once
// Turns generated ids into printable text as they arrive. A multi-byte character can be spread
// over several tokens (SentencePiece byte fallback: "ğ" is <0xC4><0x9F>), so the streamer
// holds back a trailing unfinished UTF-8 sequence until the rest of it arrives; what it
// returns is always whole characters.
#include <cstdint>
#include <string>

namespace dilmodeli::tokenizer {

class Tokenizer;

class TokenStreamer {
public:
    // `tokenizer` must outlive the streamer.
    explicit TokenStreamer(const Tokenizer& tokenizer) : tokenizer_(tokenizer) {}

    // Adds one token; returns the text that is now complete (possibly empty). Pieces are
    // appended raw, as llama.cpp prints generated tokens: no space is stripped.
    std::string push(int32_t id);

    // Everything still held back, even an unfinished sequence (at the end of generation there
    // is nothing left to wait for). The streamer is empty afterwards and can be reused.
    std::string flush();

    // Bytes currently held back.
    size_t pending_bytes() const { return pending_.size(); }

private:
    const Tokenizer& tokenizer_;
    std::string pending_;
};

}  // namespace dilmodeli::tokenizer
