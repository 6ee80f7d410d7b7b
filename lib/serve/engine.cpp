#include "serve/engine.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "tokenizer/tokenizer.h"

namespace dilmodeli::serve {
namespace {

double milliseconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

size_t common_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
    const size_t n = std::min(a.size(), b.size());
    size_t i = 0;
    while (i < n && a[i] == b[i]) ++i;
    return i;
}

}  // namespace

std::vector<TokenLogprob> top_logprobs(const float* logits, int64_t n_vocab, int top, int32_t chosen,
                                       TokenLogprob& chosen_logprob) {
    const float max = *std::max_element(logits, logits + n_vocab);
    double sum = 0;
    for (int64_t i = 0; i < n_vocab; ++i) sum += std::exp(double(logits[i] - max));
    const float log_norm = max + float(std::log(sum));
    chosen_logprob = {chosen, logits[chosen] - log_norm};
    const int64_t n = std::min<int64_t>(std::max(top, 0), n_vocab);
    std::vector<int32_t> ids(static_cast<size_t>(n_vocab));
    std::iota(ids.begin(), ids.end(), 0);
    auto more_likely = [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
    std::partial_sort(ids.begin(), ids.begin() + n, ids.end(), more_likely);
    std::vector<TokenLogprob> result;
    for (int64_t i = 0; i < n; ++i) result.push_back({ids[size_t(i)], logits[ids[size_t(i)]] - log_norm});
    return result;
}

Engine::Engine(model::Model& model, const tokenizer::Tokenizer& tokenizer, const EngineOptions& options)
    : model_(model),
      tokenizer_(tokenizer),
      options_(options),
      session_(model, model::SessionOptions{options.context, options.kv_type, options.threads, options.max_batch,
                                            options.slots}),
      slots_(size_t(options.slots)) {
    stats_.slots = options.slots;
    thread_ = std::thread([this] { run(); });
}

Engine::~Engine() {
    stop();
    if (thread_.joinable()) thread_.join();
}

std::shared_ptr<Job> Engine::submit(CompletionRequest request) {
    if (request.prompt.empty()) throw SubmitError(400, "the prompt is empty and the model adds no BOS token");
    if (int64_t(request.prompt.size()) >= session_.context())
        throw SubmitError(400, "the prompt has " + std::to_string(request.prompt.size()) +
                                   " tokens, which does not fit in the context of " +
                                   std::to_string(session_.context()) + " with room to generate (--ctx)");
    for (int32_t token : request.prompt)
        if (token < 0 || token >= model_.config().n_vocab)
            throw SubmitError(400, "token id " + std::to_string(token) + " is outside the vocabulary of " +
                                       std::to_string(model_.config().n_vocab));
    request.sampler.validate();
    auto job = std::make_shared<Job>(std::move(request));
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (stopping_) throw SubmitError(503, "the server is shutting down");
        if (queue_.size() >= options_.max_queue)
            throw SubmitError(503, "the server is busy: " + std::to_string(queue_.size()) +
                                       " requests are waiting for a slot");
        queue_.push_back(job);
    }
    wake_.notify_all();
    return job;
}

void Engine::stop() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
}

EngineStats Engine::stats() const {
    std::lock_guard<std::mutex> lock(mutex_);
    EngineStats s = stats_;
    s.queued = queue_.size();
    return s;
}

void Engine::run() {
    for (;;) {
        {
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait(lock, [&] { return stopping_ || !queue_.empty() || stats_.slots_busy > 0; });
            if (stopping_) break;
            admit();
        }
        step();
    }
    for (Slot& slot : slots_)
        if (slot.job) finish(slot, FinishReason::Cancelled);
    std::lock_guard<std::mutex> lock(mutex_);
    for (const std::shared_ptr<Job>& job : queue_) job->finish(FinishReason::Cancelled, {});
    queue_.clear();
    stats_.slots_busy = 0;
}

void Engine::admit() {
    while (!queue_.empty()) {
        std::shared_ptr<Job> job = queue_.front();
        if (job->cancelled()) {
            queue_.pop_front();
            job->finish(FinishReason::Cancelled, {});
            continue;
        }
        // The free slot holding the longest start of this prompt: a chat's next turn then costs
        // only its new tokens.
        int best = -1;
        size_t best_prefix = 0;
        for (size_t i = 0; i < slots_.size(); ++i) {
            if (slots_[i].job) continue;
            const size_t prefix = common_prefix(slots_[i].cached, job->request().prompt);
            if (best < 0 || prefix > best_prefix) {
                best = int(i);
                best_prefix = prefix;
            }
        }
        if (best < 0) return;
        queue_.pop_front();
        start(slots_[size_t(best)], best, std::move(job));
        ++stats_.slots_busy;
    }
}

void Engine::start(Slot& slot, int id, std::shared_ptr<Job> job) {
    const CompletionRequest& request = job->request();
    // At least the prompt's last token is evaluated again: its logits give the first token.
    const size_t reused = std::min(common_prefix(slot.cached, request.prompt), request.prompt.size() - 1);
    session_.truncate(id, int64_t(reused));
    slot.cached.resize(reused);
    slot.prompt_next = reused;
    slot.next_token = -1;
    slot.sampler.emplace(request.sampler);
    slot.streamer.emplace(tokenizer_);
    slot.stops.emplace(request.stop);
    slot.history = request.prompt;
    slot.usage = CompletionUsage{};
    slot.usage.prompt_tokens = int64_t(request.prompt.size());
    slot.usage.cached_tokens = int64_t(reused);
    slot.started = std::chrono::steady_clock::now();
    slot.job = std::move(job);
}

void Engine::step() {
    for (Slot& slot : slots_)
        if (slot.job && slot.job->cancelled()) finish(slot, FinishReason::Cancelled);

    // Every generating slot's next token first, then prompt chunks in the room left.
    std::vector<model::SequenceTokens> batch;
    int64_t room = options_.max_batch;
    for (size_t i = 0; i < slots_.size(); ++i) {
        Slot& slot = slots_[i];
        if (slot.job && slot.prompt_done() && slot.next_token >= 0) {
            batch.push_back({int(i), &slot.next_token, 1, true});
            --room;
        }
    }
    uint64_t prompt_tokens = 0;
    for (size_t i = 0; i < slots_.size() && room > 0; ++i) {
        Slot& slot = slots_[i];
        if (!slot.job || slot.prompt_done()) continue;
        const std::vector<int32_t>& prompt = slot.job->request().prompt;
        const int64_t take = std::min<int64_t>(room, int64_t(prompt.size() - slot.prompt_next));
        batch.push_back({int(i), prompt.data() + slot.prompt_next, take, slot.prompt_next + size_t(take) == prompt.size()});
        room -= take;
        prompt_tokens += uint64_t(take);
    }
    if (batch.empty()) return;

    const auto start = std::chrono::steady_clock::now();
    try {
        session_.decode(batch);
    } catch (const std::exception& e) {
        for (const model::SequenceTokens& part : batch) {
            Slot& slot = slots_[size_t(part.sequence)];
            session_.truncate(part.sequence, 0);
            slot.cached.clear();
            finish(slot, FinishReason::Error, e.what());
        }
        return;
    }
    const double busy = milliseconds_since(start) / 1000.0;

    const int64_t n_vocab = model_.config().n_vocab;
    int64_t row = 0;
    for (const model::SequenceTokens& part : batch) {
        Slot& slot = slots_[size_t(part.sequence)];
        slot.cached.insert(slot.cached.end(), part.tokens, part.tokens + part.n);
        if (!slot.prompt_done()) {
            slot.prompt_next += size_t(part.n);
            if (slot.prompt_done()) slot.usage.prompt_ms = milliseconds_since(slot.started);
        }
        if (part.logits) on_logits(slot, &session_.logits()[size_t(row++ * n_vocab)]);
    }
    std::lock_guard<std::mutex> lock(mutex_);
    ++stats_.steps;
    stats_.busy_seconds += busy;
    stats_.prompt_tokens += prompt_tokens;
}

void Engine::on_logits(Slot& slot, const float* logits) {
    const CompletionRequest& request = slot.job->request();
    if (request.max_tokens == 0) return finish(slot, FinishReason::Length);
    const int64_t n_vocab = model_.config().n_vocab;
    const int32_t token = slot.sampler->sample(logits, n_vocab, slot.history);
    CompletionDelta delta;
    if (!request.ignore_eos && tokenizer_.is_end_of_generation(token)) {
        delta.text = slot.stops->push(slot.streamer->flush()) + slot.stops->flush();
        if (!delta.text.empty()) slot.job->publish(std::move(delta));
        return finish(slot, FinishReason::Stop);
    }
    ++slot.usage.completion_tokens;
    slot.history.push_back(token);
    delta.tokens.push_back(token);
    if (request.top_logprobs >= 0) {
        TokenLogprob chosen{};
        delta.top.push_back(top_logprobs(logits, n_vocab, request.top_logprobs, token, chosen));
        delta.chosen.push_back(chosen);
    }
    delta.text = slot.stops->push(slot.streamer->push(token));
    if (slot.stops->stopped()) {
        slot.job->publish(std::move(delta));
        return finish(slot, FinishReason::Stop);
    }
    const bool at_limit = request.max_tokens > 0 && slot.usage.completion_tokens >= request.max_tokens;
    const bool context_full = int64_t(slot.cached.size()) >= session_.context();
    if (at_limit || context_full) {
        delta.text += slot.stops->push(slot.streamer->flush());
        const bool stopped = slot.stops->stopped();
        delta.text += slot.stops->flush();
        slot.job->publish(std::move(delta));
        return finish(slot, stopped ? FinishReason::Stop : FinishReason::Length);
    }
    slot.job->publish(std::move(delta));
    slot.next_token = token;
}

void Engine::finish(Slot& slot, FinishReason reason, const std::string& error) {
    if (slot.usage.prompt_ms > 0) slot.usage.generation_ms = milliseconds_since(slot.started) - slot.usage.prompt_ms;
    {
        // Counted, and the slot freed, before the submitter can see the job finished: a client
        // that has its answer finds no slot still busy with it.
        std::lock_guard<std::mutex> lock(mutex_);
        ++stats_.requests;
        stats_.generated_tokens += uint64_t(slot.usage.completion_tokens);
        --stats_.slots_busy;
    }
    slot.job->finish(reason, slot.usage, error);
    slot.job.reset();
    slot.next_token = -1;
}

}  // namespace dilmodeli::serve
