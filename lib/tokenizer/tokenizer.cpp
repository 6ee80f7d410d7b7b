#include "tokenizer/tokenizer.h"

#include <cstdlib>

#include "common/error.h"
#include "gguf/gguf_file.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/byte_unicode_mapping.h"
#include "tokenizer/space_cleanup.h"
#include "tokenizer/special_token_splitter.h"
#include "tokenizer/spm_tokenizer.h"
#include "tokenizer/utf8.h"

namespace dilmodeli::tokenizer {

namespace {

constexpr std::string_view kEscapedSpace = "\xE2\x96\x81";  // U+2581, SentencePiece's space

void append_unescaped_spaces(std::string_view text, StringTable& out) {
    for (size_t at = text.find(kEscapedSpace); at != std::string_view::npos; at = text.find(kEscapedSpace)) {
        out.append_to_last(text.substr(0, at));
        out.append_to_last(" ");
        text.remove_prefix(at + kEscapedSpace.size());
    }
    out.append_to_last(text);
}

// "<0xNN>" -> NN. Anything else marked as a byte token decodes to nothing rather than garbage.
void append_byte_token_piece(std::string_view text, StringTable& out) {
    if (text.size() != 6 || text.substr(0, 3) != "<0x" || text[5] != '>') return;
    const char hex[3] = {text[3], text[4], '\0'};
    char* end = nullptr;
    const long value = std::strtol(hex, &end, 16);
    if (end != hex + 2) return;
    const char byte = static_cast<char>(value);
    out.append_to_last(std::string_view(&byte, 1));
}

// Byte-level BPE text back to bytes. A character outside the mapping cannot come from a
// well-formed GPT-2 vocabulary; it is passed through as UTF-8 instead of being lost.
void append_byte_level_piece(std::string_view text, StringTable& out) {
    char bytes[64];
    size_t n = 0;
    for (size_t i = 0; i < text.size();) {
        const uint32_t cp = next_codepoint(text, i);
        if (n + 4 > sizeof bytes) {
            out.append_to_last(std::string_view(bytes, n));
            n = 0;
        }
        if (const auto byte = unicode_to_byte(cp)) {
            bytes[n++] = static_cast<char>(*byte);
        } else {
            for (char c : codepoint_to_utf8(cp)) bytes[n++] = c;  // at most 4 bytes, no allocation
        }
    }
    out.append_to_last(std::string_view(bytes, n));
}

}  // namespace

Tokenizer::Tokenizer(Vocabulary vocab) : vocab_(std::move(vocab)) {
    size_t text_bytes = 0;
    for (int32_t id = 0; id < vocab_.size(); ++id) text_bytes += vocab_.text_view(id).size();
    // Pieces are rarely longer than their texts: escapes and byte characters shrink to bytes.
    pieces_.reserve(static_cast<size_t>(vocab_.size()), text_bytes);
    for (int32_t id = 0; id < vocab_.size(); ++id) append_piece(id);
    pieces_.shrink_to_fit();
}

Tokenizer::~Tokenizer() = default;

std::unique_ptr<Tokenizer> Tokenizer::from_gguf(const gguf::GgufFile& file) {
    return from_metadata(read_tokenizer_metadata(file), file.path());
}

std::unique_ptr<Tokenizer> Tokenizer::from_metadata(TokenizerMetadata metadata,
                                                    const std::string& source) {
    return std::unique_ptr<Tokenizer>(
        new Tokenizer(Vocabulary::build(std::move(metadata), source)));
}

void Tokenizer::append_piece(int32_t id) {
    const std::string_view text = vocab_.text_view(id);
    pieces_.start();
    switch (vocab_.type(id)) {
        case TokenType::Normal:
            if (vocab_.kind() == TokenizerKind::SentencePiece || vocab_.escape_spaces()) {
                append_unescaped_spaces(text, pieces_);
            } else {
                append_byte_level_piece(text, pieces_);
            }
            break;
        case TokenType::Byte:
            append_byte_token_piece(text, pieces_);
            break;
        case TokenType::UserDefined:
            // Added tokens are stored as the literal text they stand for.
            pieces_.append_to_last(text);
            break;
        case TokenType::Control:
        case TokenType::Unknown:
        case TokenType::Unused:
        case TokenType::Undefined:
            break;
    }
}

std::string_view Tokenizer::token_to_piece(int32_t id) const {
    if (!vocab_.contains(id)) {
        throw Error(ErrorKind::BadInput, "token id " + std::to_string(id) +
                                             " is outside the vocabulary of " +
                                             std::to_string(vocab_.size()) + " tokens");
    }
    return pieces_[static_cast<size_t>(id)];
}

bool Tokenizer::is_end_of_generation(int32_t id) const {
    return id != kNoToken && (id == vocab_.eos_id() || id == vocab_.eot_id());
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_bos,
                                       bool parse_special) const {
    std::vector<int32_t> out;
    if (vocab_.kind() == TokenizerKind::SentencePiece) {
        encode_spm(text, add_bos, parse_special, out);
    } else {
        encode_bpe(text, add_bos, parse_special, out);
    }
    return out;
}

void Tokenizer::encode_spm(std::string_view text, bool add_special, bool parse_special,
                           std::vector<int32_t>& out) const {
    if (add_special && vocab_.add_bos()) out.push_back(vocab_.bos_id());
    // SentencePiece's dummy prefix: text at the start, or right after a special token, is
    // encoded as if a space preceded it, so "Hello" and " Hello" share the token "▁Hello".
    bool after_special = true;
    for (const TextFragment& f : split_on_special_tokens(vocab_, text, parse_special)) {
        if (f.token != kNoToken) {
            out.push_back(f.token);
            after_special = true;
            continue;
        }
        std::string raw;
        if (vocab_.add_space_prefix() && after_special) raw.push_back(' ');
        raw.append(f.text);
        spm_encode(vocab_, escape_spaces(raw), out);
        after_special = false;
    }
    if (add_special && vocab_.add_eos()) out.push_back(vocab_.eos_id());
}

void Tokenizer::encode_bpe(std::string_view text, bool add_special, bool parse_special,
                           std::vector<int32_t>& out) const {
    if (add_special && vocab_.add_bos()) out.push_back(vocab_.bos_id());
    for (const TextFragment& f : split_on_special_tokens(vocab_, text, parse_special)) {
        if (f.token != kNoToken) out.push_back(f.token);
        else bpe_encode(vocab_, f.text, out);
    }
    if (add_special && vocab_.add_eos()) out.push_back(vocab_.eos_id());
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids) const {
    std::string text;
    // The space the encoder prefixed belongs to the first token only; llama.cpp strips it
    // there and nowhere else (and not at all when that first token is BOS: its piece is empty).
    bool strip_leading_space = vocab_.add_space_prefix();
    for (int32_t id : ids) {
        const std::string_view piece = token_to_piece(id);
        if (strip_leading_space && !piece.empty() && piece[0] == ' ') {
            text.append(piece.substr(1));
        } else {
            text += piece;
        }
        strip_leading_space = false;
    }
    return vocab_.clean_up_spaces() ? clean_up_spaces(text) : text;
}

}  // namespace dilmodeli::tokenizer
