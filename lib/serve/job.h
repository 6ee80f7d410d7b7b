#pragma once
// A completion request as the engine sees it (token ids, limits, sampling), and the job through
// which the HTTP thread that submitted it receives its text while the engine's thread produces it.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/sampler.h"

namespace dilmodeli::serve {

struct CompletionRequest {
    std::vector<int32_t> prompt;
    int64_t max_tokens = -1;  // < 0: until end of generation or the context is full
    runtime::SamplerOptions sampler;
    std::vector<std::string> stop;  // the text ends before the first of these
    int top_logprobs = -1;          // < 0: no log-probabilities; else the chosen token's and this many others
    bool ignore_eos = false;        // generate past end-of-text tokens (llama-server's ignore_eos, for benchmarks)
};

enum class FinishReason { None, Stop, Length, Cancelled, Error };
// OpenAI's finish_reason: "stop", "length"; the others never reach a client that is still there.
const char* finish_reason_name(FinishReason reason);

struct TokenLogprob {
    int32_t token;
    float logprob;
};

// What one decoding step adds to a completion.
struct CompletionDelta {
    std::string text;
    std::vector<int32_t> tokens;               // sampled ids (the text may lag behind: stop strings, UTF-8)
    std::vector<TokenLogprob> chosen;          // when top_logprobs >= 0: per token
    std::vector<std::vector<TokenLogprob>> top;
};

struct CompletionUsage {
    int64_t prompt_tokens = 0;
    int64_t cached_tokens = 0;  // of the prompt, reused from a slot's cache
    int64_t completion_tokens = 0;
    double prompt_ms = 0;
    double generation_ms = 0;
};

// Shared by the submitting thread and the engine. The engine appends deltas and finishes it; the
// submitter takes deltas as they come, or waits for the end, and may cancel at any time.
class Job {
public:
    explicit Job(CompletionRequest request) : request_(std::move(request)) {}
    const CompletionRequest& request() const { return request_; }

    // Submitter side. Moves the deltas produced so far into `out`; blocks up to `timeout` while
    // there are none and the job is running. Returns false once the job has finished and every
    // delta has been taken.
    bool take(std::vector<CompletionDelta>& out, std::chrono::milliseconds timeout);
    // Blocks until the job finishes.
    void wait();
    void cancel() { cancelled_ = true; }
    bool cancelled() const { return cancelled_; }
    FinishReason finish_reason() const;
    std::string error() const;
    CompletionUsage usage() const;

    // Engine side.
    void publish(CompletionDelta delta);
    void finish(FinishReason reason, const CompletionUsage& usage, const std::string& error = {});

private:
    const CompletionRequest request_;
    std::atomic<bool> cancelled_{false};
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<CompletionDelta> pending_;
    FinishReason finish_ = FinishReason::None;
    CompletionUsage usage_;
    std::string error_;
};

}  // namespace dilmodeli::serve
