#pragma once
// The clean-up llama.cpp applies to detokenized text of BPE vocabularies such as GPT-2
// (Hugging Face's clean_up_tokenization_spaces): " ." " ," " !" " ?" lose their space, a lone
// " ' " loses both spaces, and " 's" " 'm" " 're" " 've" are joined to the previous word.
#include <string>
#include <string_view>

namespace dilmodeli::tokenizer {

std::string clean_up_spaces(std::string_view text);

}  // namespace dilmodeli::tokenizer
