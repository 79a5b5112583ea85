#include "broker/event_loop.h"

#include <atomic>

#include "broker/event_loop_asio.h"

namespace gregor::broker {
namespace {

class asio_timer final : public event_loop::timer,
                         public std::enable_shared_from_this<asio_timer> {
public:
    explicit asio_timer(asio::io_context& io) : timer_(io) {}
    // The wait is left to expire rather than cancelled: asio timers must not be touched from
    // two threads at once, and a flag is enough to keep the task from running.
    void cancel() override { cancelled_ = true; }
    void arm(std::chrono::milliseconds delay, std::function<void()> task,
             std::shared_ptr<event_loop::strand> on) {
        strand_ = std::static_pointer_cast<asio_strand>(on);
        auto run = [self = shared_from_this(), task = std::move(task)](const asio::error_code& ec) {
            if (!ec && !self->cancelled_) task();
        };
        timer_.expires_after(delay);
        if (strand_) {
            timer_.async_wait(asio::bind_executor(strand_->native(), std::move(run)));
        } else {
            timer_.async_wait(std::move(run));
        }
    }

private:
    asio::steady_timer timer_;
    std::shared_ptr<asio_strand> strand_;
    std::atomic<bool> cancelled_{false};
};

}  // namespace

event_loop::event_loop(int threads)
    : impl_(std::make_unique<impl>(threads > 0 ? threads
                                               : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())))) {}

event_loop::~event_loop() { stop(); }

void event_loop::start() {
    for (int i = 0; i < impl_->thread_count; ++i) {
        impl_->threads.emplace_back([this] { impl_->io.run(); });
    }
}

void event_loop::stop() {
    impl_->work.reset();
    impl_->io.stop();
    for (auto& t : impl_->threads) {
        if (t.joinable() && t.get_id() != std::this_thread::get_id()) t.join();
    }
    impl_->threads.clear();
}

int event_loop::threads() const noexcept { return impl_->thread_count; }

void event_loop::post(std::function<void()> task) { asio::post(impl_->io, std::move(task)); }

std::shared_ptr<event_loop::strand> event_loop::make_strand() {
    return std::make_shared<asio_strand>(impl_->io);
}

std::shared_ptr<event_loop::timer> event_loop::run_after(std::chrono::milliseconds delay,
                                                         std::function<void()> task,
                                                         std::shared_ptr<strand> on) {
    auto t = std::make_shared<asio_timer>(impl_->io);
    t->arm(delay, std::move(task), std::move(on));
    return t;
}

}  // namespace gregor::broker
