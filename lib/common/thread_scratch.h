#pragma once
// Scratch buffers kept once per thread and per kind, shared by every caller on that thread, so
// that a model's layers (which run one after another) share one set instead of holding one
// each: a 128-token batch of a 1B model would otherwise keep 2 x 22 x 128 x 5632 floats.
// A caller that finds the thread's set in use (it was re-entered from a task it waits on)
// gets a private set for the duration instead.
namespace dilmodeli {

template <typename Buffers>
class ThreadScratch {
public:
    ThreadScratch() : buffers_(claim()) {}
    ~ThreadScratch() {
        if (buffers_ == &shared().buffers) shared().busy = false;
    }
    ThreadScratch(const ThreadScratch&) = delete;
    ThreadScratch& operator=(const ThreadScratch&) = delete;

    Buffers& operator*() { return *buffers_; }
    Buffers* operator->() { return buffers_; }

private:
    struct Shared {
        Buffers buffers;
        bool busy = false;
    };
    static Shared& shared() {
        static thread_local Shared s;
        return s;
    }
    Buffers* claim() {
        Shared& s = shared();
        if (s.busy) return &own_;
        s.busy = true;
        return &s.buffers;
    }

    Buffers own_;  // declared before buffers_: claim() may point at it
    Buffers* buffers_;
};

}  // namespace dilmodeli
