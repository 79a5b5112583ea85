// The broker's threads: one asio io_context run by `threads` threads (one per core by default).
// Work that must not run concurrently with itself (a partition's log, a connection's socket)
// goes through a strand: tasks posted to one strand run one at a time, in order, on whichever
// thread is free, with happens-before between them. That is how the whole broker uses every
// core without a global lock. asio stays out of this header (it costs seconds per translation
// unit); code that needs the io_context includes broker/event_loop_asio.h.
// post/make_strand/run_after are safe from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

namespace gregor::broker {

class event_loop {
public:
    class strand {
    public:
        virtual ~strand() = default;
        virtual void post(std::function<void()> task) = 0;
    };

    // A pending timer; cancel() prevents the task from running if it has not started.
    class timer {
    public:
        virtual ~timer() = default;
        virtual void cancel() = 0;
    };

    explicit event_loop(int threads);
    ~event_loop();
    event_loop(const event_loop&) = delete;
    event_loop& operator=(const event_loop&) = delete;

    // Starts the threads. stop() ends them after the running tasks; pending tasks are dropped.
    void start();
    void stop();
    int threads() const noexcept;

    void post(std::function<void()> task);
    std::shared_ptr<strand> make_strand();
    // Runs `task` once after `delay`, on `on` when given.
    std::shared_ptr<timer> run_after(std::chrono::milliseconds delay, std::function<void()> task,
                                     std::shared_ptr<strand> on = nullptr);

    struct impl;
    impl& internals() noexcept { return *impl_; }

private:
    std::unique_ptr<impl> impl_;
};

}  // namespace gregor::broker
