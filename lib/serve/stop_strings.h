#pragma once
// Stop strings over streamed text: text is released as soon as it can no longer be the start of
// a stop string, and a completed stop string ends the text before it (OpenAI's `stop`).
#include <string>
#include <vector>

namespace dilmodeli::serve {

class StopStrings {
public:
    explicit StopStrings(std::vector<std::string> stops) : stops_(std::move(stops)) {}

    // Adds generated text; returns what may be sent now. After a stop string has appeared,
    // stopped() is true and nothing more is released.
    std::string push(const std::string& text);
    // At the end of generation: whatever is still held back.
    std::string flush();
    bool stopped() const { return stopped_; }

private:
    std::vector<std::string> stops_;
    std::string held_;
    bool stopped_ = false;
};

}  // namespace dilmodeli::serve
