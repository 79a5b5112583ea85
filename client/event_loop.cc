#include "client/event_loop.h"

#include "client/event_loop_asio.h"
#include "common/invariant.h"

namespace gregor::client {
namespace {

class asio_timer final : public event_loop::timer, public std::enable_shared_from_this<asio_timer> {
public:
    explicit asio_timer(asio::io_context& io) : timer_(io) {}

    void start(std::chrono::milliseconds delay, std::function<void()> task) {
        timer_.expires_after(delay);
        timer_.async_wait([self = shared_from_this(), task = std::move(task)](std::error_code ec) {
            if (!ec && !self->cancelled_.load()) task();
        });
    }
    void cancel() override {
        if (cancelled_.exchange(true)) return;
        // The asio timer is touched on the loop thread only; this frees its pending wait now
        // rather than at its expiry.
        asio::post(timer_.get_executor(), [self = shared_from_this()] { self->timer_.cancel(); });
    }

private:
    asio::steady_timer timer_;
    std::atomic<bool> cancelled_{false};
};

}  // namespace

event_loop::event_loop() : impl_(std::make_unique<impl>()) {
    impl_->thread = std::thread([this] {
        impl_->thread_id = std::this_thread::get_id();
        impl_->io.run();
    });
}

event_loop::~event_loop() {
    stop();
    // The io_context's destructor destroys the tasks and handlers that never ran.
}

void event_loop::post(std::function<void()> task) { asio::post(impl_->io, std::move(task)); }

std::shared_ptr<event_loop::timer> event_loop::run_after(std::chrono::milliseconds delay,
                                                         std::function<void()> task) {
    auto t = std::make_shared<asio_timer>(impl_->io);
    // The asio timer is only ever touched on the loop thread.
    if (in_loop_thread()) {
        t->start(delay, std::move(task));
    } else {
        post([t, delay, task = std::move(task)]() mutable { t->start(delay, std::move(task)); });
    }
    return t;
}

void event_loop::stop() {
    if (impl_->stopped.exchange(true)) return;
    GREGOR_INVARIANT(!in_loop_thread(), "event_loop::stop is not called from its own thread");
    impl_->work.reset();
    impl_->io.stop();
    if (impl_->thread.joinable()) impl_->thread.join();
    impl_->joined = true;
}

bool event_loop::joined() const noexcept { return impl_->joined.load(); }

bool event_loop::in_loop_thread() const noexcept {
    return impl_->thread_id.load() == std::this_thread::get_id();
}

}  // namespace gregor::client
