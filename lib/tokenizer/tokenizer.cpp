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

std::string unescape_spaces(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
        if (text.compare(i, kEscapedSpace.size(), kEscapedSpace) == 0) {
            out.push_back(' ');
            i += kEscapedSpace.size();
        } else {
            out.push_back(text[i++]);
        }
    }
    return out;
}

// "<0xNN>" -> NN. Anything else marked as a byte token decodes to nothing rather than garbage.
std::string byte_token_piece(const std::string& text) {
    if (text.size() != 6 || text.compare(0, 3, "<0x") != 0 || text[5] != '>') return {};
    char* end = nullptr;
    const std::string hex = text.substr(3, 2);
    const long value = std::strtol(hex.c_str(), &end, 16);
    if (end != hex.c_str() + 2) return {};
    return std::string(1, static_cast<char>(value));
}

// Byte-level BPE text back to bytes. A character outside the mapping cannot come from a
// well-formed GPT-2 vocabulary; it is passed through as UTF-8 instead of being lost.
std::string byte_level_piece(const std::string& text) {
    std::string out;
    for (uint32_t cp : decode_utf8(text)) {
        if (const auto byte = unicode_to_byte(cp)) out.push_back(static_cast<char>(*byte));
        else append_utf8(out, cp);
    }
    return out;
}

}  // namespace

Tokenizer::Tokenizer(Vocabulary vocab) : vocab_(std::move(vocab)) {
    piece_ends_.reserve(static_cast<size_t>(vocab_.size()));
    for (int32_t id = 0; id < vocab_.size(); ++id) {
        piece_bytes_ += piece_of(id);
        piece_ends_.push_back(static_cast<uint32_t>(piece_bytes_.size()));
    }
    piece_bytes_.shrink_to_fit();
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

std::string Tokenizer::piece_of(int32_t id) const {
    const std::string& text = vocab_.text(id);
    switch (vocab_.type(id)) {
        case TokenType::Normal:
            return vocab_.kind() == TokenizerKind::SentencePiece || vocab_.escape_spaces()
                       ? unescape_spaces(text)
                       : byte_level_piece(text);
        case TokenType::Byte:
            return byte_token_piece(text);
        case TokenType::UserDefined:
            // Added tokens are stored as the literal text they stand for.
            return text;
        case TokenType::Control:
        case TokenType::Unknown:
        case TokenType::Unused:
        case TokenType::Undefined:
            break;
    }
    return {};
}

std::string_view Tokenizer::token_to_piece(int32_t id) const {
    if (!vocab_.contains(id)) {
        throw Error(ErrorKind::BadInput, "token id " + std::to_string(id) +
                                             " is outside the vocabulary of " +
                                             std::to_string(vocab_.size()) + " tokens");
    }
    const size_t i = static_cast<size_t>(id);
    const uint32_t begin = i == 0 ? 0 : piece_ends_[i - 1];
    return std::string_view(piece_bytes_).substr(begin, piece_ends_[i] - begin);
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
