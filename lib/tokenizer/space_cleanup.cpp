#include "tokenizer/space_cleanup.h"

namespace dilmodeli::tokenizer {

namespace {

// Each pass reads the input left to right and writes the kept characters; "dropping the
// space before x" pops the space just written. The three passes run one after another
// because llama.cpp runs them so, and their order changes results for inputs like " ' s".

std::string drop_space_before_punctuation(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    for (size_t i = 0; i < in.size(); ++i) {
        const char x = in[i];
        if (i > 0 && in[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) {
            out.pop_back();
        }
        out.push_back(x);
    }
    return out;
}

std::string drop_spaces_around_lone_apostrophe(std::string in) {
    std::string out;
    out.reserve(in.size());
    for (size_t i = 0; i < in.size(); ++i) {
        const char x = in[i];
        if (i > 0 && x == '\'' && i + 1 < in.size() && in[i - 1] == ' ' && in[i + 1] == ' ') {
            out.pop_back();
            // Skip the following space. Blanking it (rather than only skipping) matters: the
            // next character then does not see a space before itself.
            in[++i] = '\0';
        }
        out.push_back(x);
    }
    return out;
}

std::string join_contractions(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    const size_t n = in.size();
    for (size_t i = 0; i < n; ++i) {
        const char x = in[i];
        if (i > 0 && in[i - 1] == ' ' && x == '\'' && i + 1 < n) {
            const char x1 = in[i + 1];
            // " 't", " 'd" and " 'll" keep their space (llama.cpp leaves those cases alone).
            if (x1 == 's' || x1 == 'm') {
                out.pop_back();
            } else if (i + 2 < n) {
                const char x2 = in[i + 2];
                if ((x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e')) out.pop_back();
            }
        }
        out.push_back(x);
    }
    return out;
}

}  // namespace

std::string clean_up_spaces(std::string_view text) {
    return join_contractions(
        drop_spaces_around_lone_apostrophe(drop_space_before_punctuation(text)));
}

}  // namespace dilmodeli::tokenizer
