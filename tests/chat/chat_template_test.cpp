// Chat templates against llama.cpp: every line of tests/chat/golden/*.jsonl is a conversation
// that llama-server rendered (scripts/golden-chat-templates.py; README.md there says how). The
// template is recognised from the real Jinja text in ../shared, rendered, and compared byte for
// byte; a conversation llama.cpp refused must be refused too.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "chat/chat_template.h"
#include "common/error.h"
#include "gguf/gguf_file.h"
#include "support/shared_data.h"

using dilmodeli::Error;
using dilmodeli::ErrorKind;
using dilmodeli::chat::chat_template_names;
using dilmodeli::chat::ChatMessage;
using dilmodeli::chat::ChatTemplate;
using dilmodeli::chat::SpecialTokens;
using dilmodeli::testing::directory_entries;
using dilmodeli::testing::have_shared;
using dilmodeli::testing::read_text_file;
using dilmodeli::testing::shared_path;

namespace {

const std::string kGoldenDir = std::string(DILMODELI_SOURCE_DIR) + "/tests/chat/golden";

// The family each template must be recognised as.
const std::map<std::string, std::string> kExpectedFamily = {
    {"templates/Qwen-Qwen2.5-7B-Instruct.jinja", "qwen2.5"},
    {"templates/Qwen-Qwen3-0.6B.jinja", "qwen3"},
    {"templates/HuggingFaceTB-SmolLM3-3B.jinja", "smollm3"},
    {"templates/deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja", "deepseek-r1"},
    {"templates/meta-llama-Llama-3.1-8B-Instruct.jinja", "llama3.x"},
    {"templates/meta-llama-Llama-3.2-3B-Instruct.jinja", "llama3.x"},
    {"templates/google-gemma-2-2b-it.jinja", "gemma2"},
    {"templates/microsoft-Phi-3.5-mini-instruct.jinja", "phi3.5"},
    {"templates/mistralai-Mistral-Nemo-Instruct-2407.jinja", "mistral-nemo"},
    {"models/tokenizers/ggml-vocab-qwen2.gguf", "qwen2"},
    {"models/tokenizers/ggml-vocab-phi-3.gguf", "phi3-mini-4k"},
    {"tests/chat/golden/templates/meta-llama-Llama-3.3-70B-Instruct.jinja", "llama3.x"},
    {"tests/chat/golden/templates/deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja", "deepseek-r1"},
};

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
    std::ifstream in(path);
    REQUIRE(in.good());
    std::vector<nlohmann::json> lines;
    for (std::string line; std::getline(in, line);) {
        if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
    }
    return lines;
}

bool in_repository(const std::string& template_file) { return template_file.rfind("tests/", 0) == 0; }

// `template_file` is relative to ../shared, or to the repository for copies under tests/.
std::string template_source(const std::string& template_file) {
    if (in_repository(template_file)) return read_text_file(std::string(DILMODELI_SOURCE_DIR) + "/" + template_file);
    const std::string path = shared_path(template_file);
    if (template_file.size() > 5 && template_file.compare(template_file.size() - 5, 5, ".gguf") == 0) {
        return dilmodeli::gguf::GgufFile::open(path)->get_string("tokenizer.chat_template");
    }
    return read_text_file(path);
}

std::vector<ChatMessage> messages_of(const nlohmann::json& line) {
    std::vector<ChatMessage> messages;
    for (const auto& m : line.at("messages")) messages.push_back({m.at("role"), m.at("content")});
    return messages;
}

// llama.cpp printed the day it ran; the renderer prints today.
std::string with_today(std::string prompt, const std::string& golden_date) {
    const std::string today = dilmodeli::chat::template_date_today();
    for (size_t at = prompt.find(golden_date); !golden_date.empty() && at != std::string::npos;
         at = prompt.find(golden_date, at + today.size())) {
        prompt.replace(at, golden_date.size(), today);
    }
    return prompt;
}

struct Tally {
    int prompts = 0;
    int refusals = 0;
};

// Renders each golden line with `chat` and compares; returns how many lines of each kind.
Tally check_lines(const ChatTemplate& chat, const std::vector<nlohmann::json>& lines) {
    Tally tally;
    for (const auto& line : lines) {
        const std::string label = chat.name() + " / " + line.at("case").get<std::string>();
        INFO(label);
        const SpecialTokens special{line.at("bos"), line.at("eos")};
        const bool add_generation_prompt = line.at("add_generation_prompt");
        if (line.contains("prompt")) {
            const std::string expected = with_today(line.at("prompt"), line.at("date_string"));
            CHECK(chat.render(messages_of(line), add_generation_prompt, special) == expected);
            ++tally.prompts;
        } else {
            INFO("llama.cpp refused it: " << line.at("error").get<std::string>());
            try {
                const std::string rendered = chat.render(messages_of(line), add_generation_prompt, special);
                FAIL_CHECK("rendered instead of refusing: " << rendered);
            } catch (const Error& e) {
                CHECK(e.kind() == ErrorKind::Usage);
            }
            ++tally.refusals;
        }
    }
    return tally;
}

std::vector<std::string> golden_files() {
    std::vector<std::string> files;
    for (const auto& name : directory_entries(kGoldenDir)) {
        if (name.size() > 6 && name.compare(name.size() - 6, 6, ".jsonl") == 0 && name != "builtin-formats.jsonl") {
            files.push_back(name);
        }
    }
    return files;
}

const std::vector<ChatMessage> kConversation = {
    {"system", "Kısa cevap ver."}, {"user", "Merhaba, nasılsın?"}, {"assistant", "İyiyim."}, {"user", "Güzel."}};

}  // namespace

TEST_CASE("real templates are recognised and render byte for byte as llama.cpp's Jinja does", "[chat]") {
    const auto files = golden_files();
    CHECK(files.size() == kExpectedFamily.size());
    Tally total;
    for (const auto& file : files) {
        const auto lines = read_jsonl(kGoldenDir + "/" + file);
        REQUIRE(!lines.empty());
        const std::string template_file = lines.front().at("template");
        INFO(file << " from " << template_file);
        if (!in_repository(template_file) && !have_shared(template_file)) continue;
        const ChatTemplate chat = ChatTemplate::detect(template_source(template_file));
        REQUIRE(kExpectedFamily.count(template_file) == 1);
        CHECK(chat.name() == kExpectedFamily.at(template_file));
        const Tally tally = check_lines(chat, lines);
        CHECK(tally.prompts >= 10);
        total.prompts += tally.prompts;
        total.refusals += tally.refusals;
    }
    CHECK(total.refusals >= 4);  // Gemma's and Mistral's role checks
}

TEST_CASE("llama.cpp's built-in formats render as its llama_chat_apply_template does", "[chat]") {
    const auto lines = read_jsonl(kGoldenDir + "/builtin-formats.jsonl");
    std::map<std::string, std::vector<nlohmann::json>> by_name;
    for (const auto& line : lines) by_name[line.at("chat_template")].push_back(line);
    CHECK(by_name.size() == 21);
    for (const auto& [name, name_lines] : by_name) {
        const ChatTemplate chat = ChatTemplate::named(name);
        CHECK(chat.name() == name);
        CHECK(check_lines(chat, name_lines).prompts == static_cast<int>(name_lines.size()));
    }
}

TEST_CASE("every named template renders the whole conversation and opens the assistant's turn", "[chat]") {
    const SpecialTokens special{"<s>", "</s>"};
    const auto names = chat_template_names();
    CHECK(names.size() == 31);
    for (const auto& name : names) {
        INFO(name);
        const ChatTemplate chat = ChatTemplate::named(name);
        CHECK(chat.name() == name);
        const std::string with_prompt = chat.render(kConversation, true, special);
        const std::string without_prompt = chat.render(kConversation, false, special);
        for (const auto& m : kConversation) CHECK(with_prompt.find(m.content) != std::string::npos);
        CHECK(with_prompt.size() >= without_prompt.size());
        // A name passed where a Jinja source goes means that format, as in llama.cpp.
        CHECK(ChatTemplate::detect(name).name() == name);
    }
}

TEST_CASE("an unknown template name is a usage error that lists the choices", "[chat]") {
    try {
        ChatTemplate::named("llama9");
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::Usage);
        const std::string message = e.what();
        CHECK(message.find("'llama9'") != std::string::npos);
        for (const auto& name : chat_template_names()) CHECK(message.find(name) != std::string::npos);
    }
}

TEST_CASE("an unrecognised chat_template source is bad input naming the field", "[chat]") {
    for (const std::string garbage : {"", "hello {{ world }}", "{% for m in messages %}{{ m.content }}{% endfor %}",
                                      "<|START_OF_TURN_TOKEN|><|USER_TOKEN|>"}) {
        INFO(garbage);
        try {
            ChatTemplate::detect(garbage);
            FAIL("no error");
        } catch (const Error& e) {
            CHECK(e.kind() == ErrorKind::BadInput);
            CHECK(std::string(e.what()).find("tokenizer.chat_template") != std::string::npos);
        }
    }
}

TEST_CASE("a generic ChatML or Llama 3 template falls back to llama.cpp's built-in format", "[chat]") {
    CHECK(ChatTemplate::detect("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + "
                               "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}")
              .name() == "chatml");
    CHECK(ChatTemplate::detect("{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>' }}").name() ==
          "llama3");
    CHECK(ChatTemplate::detect("{{ '<start_of_turn>' + role }}").name() == "gemma");
}

TEST_CASE("near relatives of the families fall back to llama.cpp's built-in formats", "[chat]") {
    if (!have_shared("templates/Qwen-Qwen3-0.6B.jinja")) return;
    auto replaced = [](std::string text, const std::string& from, const std::string& to) {
        const size_t at = text.find(from);
        REQUIRE(at != std::string::npos);
        return text.replace(at, from.size(), to);
    };
    const std::string qwen3 = read_text_file(shared_path("templates/Qwen-Qwen3-0.6B.jinja"));
    const std::string r1 = read_text_file(shared_path("templates/deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja"));
    const std::string phi35 = read_text_file(shared_path("templates/microsoft-Phi-3.5-mini-instruct.jinja"));
    // Qwen3.5 / Qwen3-Coder call tools in XML; StepFun 3.5 and MiniCPM5 print BOS.
    CHECK(ChatTemplate::detect(qwen3 + "{{ '<function=' }}").name() == "chatml");
    CHECK(ChatTemplate::detect("{{ bos_token }}" + qwen3).name() == "chatml");
    // DeepSeek V3.1 opens an empty think block.
    CHECK(ChatTemplate::detect(replaced(r1, "<think>\\n'}}", "<think></think>'}}")).name() == "deepseek3");
    // Apriel 1.5: Phi-3 markup, but its own system text and no skipping of empty system turns.
    CHECK(ChatTemplate::detect(replaced(phi35, " and message['content']", "")).name() == "phi3");
}

TEST_CASE("roles outside system/user/assistant and empty conversations are refused", "[chat]") {
    const ChatTemplate chat = ChatTemplate::named("chatml");
    const SpecialTokens special{"", ""};
    CHECK_THROWS_AS(chat.render({}, true, special), Error);
    try {
        chat.render({{"user", "Hi"}, {"tool", "42"}}, true, special);
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::Usage);
        CHECK(std::string(e.what()).find("messages[1].role: 'tool'") != std::string::npos);
    }
}
