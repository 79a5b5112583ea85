// For the .cc files that work with asio directly (the network layer): the io_context behind an
// event_loop and the asio strand behind one of its strands.
#pragma once

#define ASIO_STANDALONE
#define ASIO_NO_DEPRECATED
#include <asio.hpp>

#include <thread>
#include <vector>

#include "broker/event_loop.h"

namespace gregor::broker {

struct event_loop::impl {
    asio::io_context io;
    asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
    std::vector<std::thread> threads;
    int thread_count;
    explicit impl(int n) : thread_count(n) {}
};

class asio_strand final : public event_loop::strand {
public:
    explicit asio_strand(asio::io_context& io) : strand_(asio::make_strand(io)) {}
    void post(std::function<void()> task) override { asio::post(strand_, std::move(task)); }
    asio::strand<asio::io_context::executor_type>& native() noexcept { return strand_; }

private:
    asio::strand<asio::io_context::executor_type> strand_;
};

}  // namespace gregor::broker
