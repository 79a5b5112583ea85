// The coordination thread: one thread that runs tasks in the order they were posted, plus
// tasks due after a delay. Everything in coordination/ that keeps state (broker_registry,
// controller_election, controller) lives on it, so none of them needs a lock, and the
// ZooKeeper C client's blocking calls they make never run on the broker's event loop.
//
// post()/post_after() are safe from any thread. stop() runs on the owner's thread (not on
// this one): it lets the running task finish, drops the rest, and joins.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace gregor::coordination {

// How components hand work to a thread they do not own (this one, or the broker's event loop).
using post_fn = std::function<void(std::function<void()>)>;

class coordination_thread {
public:
    explicit coordination_thread(std::string name = "coordination");
    ~coordination_thread();

    coordination_thread(const coordination_thread&) = delete;
    coordination_thread& operator=(const coordination_thread&) = delete;

    // Runs `task` after every task posted before it. Dropped once stop() has begun.
    void post(std::function<void()> task);
    // Runs `task` on this thread no sooner than `delay` from now.
    void post_after(std::chrono::milliseconds delay, std::function<void()> task);
    // A post_fn that enqueues here; valid while this object lives.
    post_fn poster();

    bool in_this_thread() const noexcept;

    // Idempotent. REQUIRES: not called from this thread.
    void stop();

private:
    using clock = std::chrono::steady_clock;

    void run();

    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::function<void()>> ready_;                      // guarded by mu_
    std::multimap<clock::time_point, std::function<void()>> timed_;  // guarded by mu_
    bool stopping_ = false;                                        // guarded by mu_
    std::string name_;
    std::thread thread_;  // last: starts after the members above exist
};

}  // namespace gregor::coordination
