// A client's I/O thread: one asio io_context run by one thread, started by the constructor and
// joined by stop() or the destructor. Everything a client does on the network (connections,
// timers, metadata, the producer's sender, the consumer's fetcher) runs as tasks on this one
// thread, so that state is touched by one thread only and needs no lock; user threads hand work
// over with post(). asio stays out of this header (it costs seconds per translation unit); the
// .cc files that need the io_context include client/event_loop_asio.h.
// post/run_after/stop/in_loop_thread are safe from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <type_traits>

namespace gregor::client {

class event_loop {
public:
    // A pending one-shot timer; cancel() keeps its task from running if it has not started.
    class timer {
    public:
        virtual ~timer() = default;
        virtual void cancel() = 0;
    };

    event_loop();
    // Stops the thread (see stop()) and destroys the tasks that never ran.
    ~event_loop();
    event_loop(const event_loop&) = delete;
    event_loop& operator=(const event_loop&) = delete;

    void post(std::function<void()> task);
    std::shared_ptr<timer> run_after(std::chrono::milliseconds delay, std::function<void()> task);

    // Ends the thread after the task running now; tasks not yet run never run. Idempotent.
    // REQUIRES: not called from the loop thread.
    void stop();
    bool in_loop_thread() const noexcept;

    // True once stop() has joined the thread: nothing will run on the loop any more.
    bool joined() const noexcept;

    // Runs `fn` on the loop thread and returns its result, waiting for it (directly when
    // already on the loop thread, or on the calling thread once the loop has stopped, since
    // nothing else can touch the loop's state then).
    template <typename F>
    auto call(F&& fn) -> std::invoke_result_t<F&> {
        using R = std::invoke_result_t<F&>;
        if (in_loop_thread() || joined()) return fn();
        auto task = std::make_shared<std::packaged_task<R()>>(std::forward<F>(fn));
        auto done = task->get_future();
        post([task] { (*task)(); });
        while (done.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) {
            if (joined()) {
                // Stopped meanwhile: the task ran before the thread ended, or never will.
                if (done.wait_for(std::chrono::milliseconds(0)) != std::future_status::ready) (*task)();
                break;
            }
        }
        return done.get();
    }

    struct impl;
    impl& internals() noexcept { return *impl_; }

private:
    std::unique_ptr<impl> impl_;
};

}  // namespace gregor::client
