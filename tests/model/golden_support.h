#pragma once
// Reading ../shared/golden: greedy continuations recorded from llama.cpp.
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "support/shared_data.h"

namespace dilmodeli::testing {

struct GreedyCase {
    std::string model;
    std::string prompt;
    int n_predict = 0;
    std::string continuation;
};

inline std::vector<GreedyCase> read_greedy_cases(const std::string& relative) {
    std::vector<GreedyCase> cases;
    std::istringstream lines(read_text_file(shared_path(relative)));
    std::string line;
    while (std::getline(lines, line)) {
        if (line.empty()) continue;
        auto j = nlohmann::json::parse(line);
        cases.push_back({j["model"], j["prompt"], j["n_predict"], j["continuation"]});
    }
    return cases;
}

}  // namespace dilmodeli::testing
