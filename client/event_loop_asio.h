// For the client .cc files that work with asio directly (event_loop.cc, connection.cc): the
// io_context behind a client::event_loop. Never include this from a header: asio costs seconds
// per translation unit, and the client's headers stay free of it.
#pragma once

#define ASIO_STANDALONE
#define ASIO_NO_DEPRECATED
#include <asio.hpp>

#include <atomic>
#include <thread>

#include "client/event_loop.h"

namespace gregor::client {

struct event_loop::impl {
    asio::io_context io{1};
    asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
    std::thread thread;
    std::atomic<std::thread::id> thread_id{};  // set by the thread itself
    std::atomic<bool> stopped{false};
    std::atomic<bool> joined{false};
};

}  // namespace gregor::client
