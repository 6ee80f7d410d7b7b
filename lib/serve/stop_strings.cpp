#include "serve/stop_strings.h"

#include <algorithm>

namespace dilmodeli::serve {

std::string StopStrings::push(const std::string& text) {
    if (stopped_) return {};
    held_ += text;
    size_t first_stop = std::string::npos;
    for (const std::string& stop : stops_) first_stop = std::min(first_stop, held_.find(stop));
    if (first_stop != std::string::npos) {
        stopped_ = true;
        std::string released = held_.substr(0, first_stop);
        held_.clear();
        return released;
    }
    // Hold back the longest tail of the text that a stop string starts with.
    size_t keep = 0;
    for (const std::string& stop : stops_)
        for (size_t n = std::min(stop.size() - 1, held_.size()); n > keep; --n)
            if (held_.compare(held_.size() - n, n, stop, 0, n) == 0) {
                keep = n;
                break;
            }
    std::string released = held_.substr(0, held_.size() - keep);
    held_.erase(0, held_.size() - keep);
    return released;
}

std::string StopStrings::flush() {
    std::string released;
    if (!stopped_) released.swap(held_);
    held_.clear();
    return released;
}

}  // namespace dilmodeli::serve
