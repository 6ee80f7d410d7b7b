#include "serve/job.h"

namespace dilmodeli::serve {

const char* finish_reason_name(FinishReason reason) {
    switch (reason) {
        case FinishReason::None: return "none";
        case FinishReason::Stop: return "stop";
        case FinishReason::Length: return "length";
        case FinishReason::Cancelled: return "cancelled";
        case FinishReason::Error: return "error";
    }
    return "none";
}

bool Job::take(std::vector<CompletionDelta>& out, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait_for(lock, timeout, [&] { return !pending_.empty() || finish_ != FinishReason::None; });
    const bool took = !pending_.empty();
    for (CompletionDelta& delta : pending_) out.push_back(std::move(delta));
    pending_.clear();
    return finish_ == FinishReason::None || took;
}

void Job::wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return finish_ != FinishReason::None; });
}

FinishReason Job::finish_reason() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return finish_;
}

std::string Job::error() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return error_;
}

CompletionUsage Job::usage() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return usage_;
}

void Job::publish(CompletionDelta delta) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        pending_.push_back(std::move(delta));
    }
    changed_.notify_all();
}

void Job::finish(FinishReason reason, const CompletionUsage& usage, const std::string& error) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        finish_ = reason;
        usage_ = usage;
        error_ = error;
    }
    changed_.notify_all();
}

}  // namespace dilmodeli::serve
