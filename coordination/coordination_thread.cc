#include "coordination/coordination_thread.h"

#include <pthread.h>

#include "common/invariant.h"

namespace gregor::coordination {

coordination_thread::coordination_thread(std::string name)
    : name_(std::move(name)), thread_([this] { run(); }) {}

coordination_thread::~coordination_thread() { stop(); }

void coordination_thread::post(std::function<void()> task) {
    {
        std::lock_guard lock(mu_);
        if (stopping_) return;
        ready_.push_back(std::move(task));
    }
    cv_.notify_one();
}

void coordination_thread::post_after(std::chrono::milliseconds delay, std::function<void()> task) {
    {
        std::lock_guard lock(mu_);
        if (stopping_) return;
        timed_.emplace(clock::now() + delay, std::move(task));
    }
    cv_.notify_one();
}

post_fn coordination_thread::poster() {
    return [this](std::function<void()> task) { post(std::move(task)); };
}

bool coordination_thread::in_this_thread() const noexcept {
    return std::this_thread::get_id() == thread_.get_id();
}

void coordination_thread::stop() {
    GREGOR_INVARIANT(!in_this_thread(), "coordination_thread::stop is not called from its own thread");
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
    // Tasks may own objects whose destructors post; clear outside the lock.
    std::deque<std::function<void()>> ready;
    std::multimap<clock::time_point, std::function<void()>> timed;
    {
        std::lock_guard lock(mu_);
        ready.swap(ready_);
        timed.swap(timed_);
    }
}

void coordination_thread::run() {
    // Linux limits thread names to 15 characters.
    pthread_setname_np(pthread_self(), name_.substr(0, 15).c_str());
    std::unique_lock lock(mu_);
    while (!stopping_) {
        const auto now = clock::now();
        while (!timed_.empty() && timed_.begin()->first <= now) {
            ready_.push_back(std::move(timed_.begin()->second));
            timed_.erase(timed_.begin());
        }
        if (ready_.empty()) {
            if (timed_.empty()) {
                cv_.wait(lock);
            } else {
                cv_.wait_until(lock, timed_.begin()->first);
            }
            continue;
        }
        auto task = std::move(ready_.front());
        ready_.pop_front();
        lock.unlock();
        task();
        task = nullptr;  // destroy captures before re-taking the lock
        lock.lock();
    }
}

}  // namespace gregor::coordination
