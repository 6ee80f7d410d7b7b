#pragma once
// Continuous batching: a fixed set of slots, each a sequence of one model session, and one
// thread that, step after step, decodes the next token of every generating slot together with
// chunks of newly admitted prompts. Generation on a CPU is bound by reading the weights; one
// forward pass over all slots reads them once for all.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "model/model.h"
#include "runtime/sampler.h"
#include "serve/job.h"
#include "serve/stop_strings.h"
#include "tokenizer/token_streamer.h"

namespace dilmodeli::tokenizer { class Tokenizer; }

namespace dilmodeli::serve {

struct EngineOptions {
    int slots = 4;               // sequences decoded together (--parallel)
    int64_t context = 2048;      // tokens per slot (--ctx)
    model::KvCacheType kv_type = model::KvCacheType::F16;
    int threads = 0;             // 0: physical cores
    int64_t max_batch = 512;     // tokens per forward pass
    size_t max_queue = 64;       // requests waiting for a slot; beyond them submit refuses
};

// Counters for /metrics, since the engine started.
struct EngineStats {
    uint64_t requests = 0;          // finished, any reason
    uint64_t prompt_tokens = 0;     // evaluated (cached ones not counted)
    uint64_t generated_tokens = 0;
    uint64_t steps = 0;
    double busy_seconds = 0;        // inside forward passes
    size_t queued = 0;
    int slots_busy = 0;
    int slots = 0;
};

// Why submit refused a request: the client's fault (400) or the server's load (503).
class SubmitError : public std::runtime_error {
public:
    SubmitError(int status, const std::string& message) : std::runtime_error(message), status_(status) {}
    int status() const { return status_; }

private:
    int status_;
};

class Engine {
public:
    Engine(model::Model& model, const tokenizer::Tokenizer& tokenizer, const EngineOptions& options);
    ~Engine();  // cancels what is queued or running, then joins the thread
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    // Queues a request; its job then streams the completion. SubmitError when the prompt is
    // empty or does not fit a slot's context (400), or the queue is full or the engine stopping (503).
    std::shared_ptr<Job> submit(CompletionRequest request);
    // Cancels every job and stops taking new ones.
    void stop();
    EngineStats stats() const;
    int64_t context() const { return session_.context(); }

private:
    struct Slot {
        std::shared_ptr<Job> job;
        std::vector<int32_t> cached;  // tokens whose keys and values the slot's sequence holds
        size_t prompt_next = 0;       // next prompt token to evaluate
        int32_t next_token = -1;      // sampled, to be decoded in the next step
        std::optional<runtime::Sampler> sampler;
        std::optional<tokenizer::TokenStreamer> streamer;
        std::optional<StopStrings> stops;
        std::vector<int32_t> history;  // prompt and generated, for the repetition penalty
        CompletionUsage usage;
        std::chrono::steady_clock::time_point started;
        bool prompt_done() const { return prompt_next >= job->request().prompt.size(); }
    };

    void run();
    void admit();  // queue -> free slots, in arrival order (caller holds mutex_)
    void start(Slot& slot, int id, std::shared_ptr<Job> job);
    void step();
    // The slot's prompt is evaluated and these are the logits of its last token.
    void on_logits(Slot& slot, const float* logits);
    void finish(Slot& slot, FinishReason reason, const std::string& error = {});

    model::Model& model_;
    const tokenizer::Tokenizer& tokenizer_;
    EngineOptions options_;
    model::Session session_;
    std::vector<Slot> slots_;

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::shared_ptr<Job>> queue_;
    bool stopping_ = false;
    EngineStats stats_;
    std::thread thread_;
};

// The log-probabilities of `chosen` and of the `top` most likely tokens (log-softmax of logits).
std::vector<TokenLogprob> top_logprobs(const float* logits, int64_t n_vocab, int top, int32_t chosen,
                                       TokenLogprob& chosen_logprob);

}  // namespace dilmodeli::serve
