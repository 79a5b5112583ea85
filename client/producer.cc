#include "client/producer.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <unordered_map>

#include "client/errors.h"
#include "client/event_loop.h"
#include "client/network_client.h"
#include "client/partitioner.h"
#include "client/record_accumulator.h"
#include "common/clock.h"
#include "common/logger.h"

namespace gregor::client {
namespace {

using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

int64_t now_ms() {
    return wall_clock_ms();
}

// Waits on `cv` until `pred` or `timeout`; a timeout of milliseconds::max() waits forever.
template <typename Pred>
bool wait_for(std::condition_variable& cv, std::unique_lock<std::mutex>& lk, milliseconds timeout,
              Pred pred) {
    if (timeout == milliseconds::max()) {
        cv.wait(lk, pred);
        return true;
    }
    return cv.wait_for(lk, timeout, pred);
}

// A record whose topic has no metadata yet: it cannot be partitioned.
struct waiting_record {
    producer_record record;
    delivery_callback callback;
    size_t reserved_bytes = 0;
    int64_t timestamp = 0;
    clock::time_point enqueued;
};

// A report to deliver once the lock is released.
struct pending_report {
    delivery_callback callback;
    delivery_report report;
    size_t reserved_bytes = 0;
};

}  // namespace

struct producer::impl {
    explicit impl(producer_config c)
        : cfg(std::move(c)),
          net(loop, cfg, /*allow_auto_topic_creation=*/true),
          acc(cfg.batch_size, cfg.linger),
          part(cfg.partitioner) {}

    producer_config cfg;
    event_loop loop;      // declared before everything it runs: destroyed after them
    network_client net;   // loop thread only

    std::mutex mu;
    std::condition_variable cv;  // buffer space freed, records completed, metadata arrived
    // ---- guarded by mu
    record_accumulator acc;
    partitioner part;
    std::unordered_map<std::string, int32_t> partition_counts;  // from the metadata
    std::map<std::string, std::deque<waiting_record>> waiting;  // topics without metadata
    size_t buffered_bytes = 0;
    uint64_t incomplete = 0;  // records sent and not yet reported
    int flushing = 0;
    bool closed = false;       // no more sends
    bool metadata_seen = false;
    // ---- loop thread only
    std::map<int32_t, int> in_flight_per_node;
    std::map<uint64_t, std::vector<std::unique_ptr<producer_batch>>> in_flight;
    uint64_t next_request_id = 0;
    std::shared_ptr<event_loop::timer> timer;
    std::optional<clock::time_point> timer_at;
    bool stopped = false;
    std::atomic<bool> wake_pending{false};
    bool closed_once = false;  // guarded by close_mu
    std::mutex close_mu;

    // The loop stops (its thread joined) before the members its tasks use are destroyed.
    ~impl() {
        if (!loop.in_loop_thread()) loop.stop();
    }

    void start() {
        loop.post([this] {
            net.add_listener([this](const status& s) { on_metadata(s); });
        });
    }

    // ---- user threads

    void send(producer_record rec, delivery_callback cb) {
        const size_t size = record_size_upper_bound(rec.key, rec.value, rec.headers) +
                            record_batch::kHeaderSize;
        auto fail_now = [&](status s) {
            if (cb) cb(delivery_report{rec.topic, rec.partition.value_or(-1), -1, -1, std::move(s)});
        };
        if (size > cfg.max_request_size) {
            return fail_now({errc::message_too_large,
                             "The message is " + std::to_string(size) +
                                 " bytes when serialized which is larger than " +
                                 std::to_string(cfg.max_request_size) +
                                 ", which is the value of the max.request.size configuration."});
        }
        if (size > cfg.buffer_memory) {
            return fail_now({errc::message_too_large,
                             "The message is " + std::to_string(size) +
                                 " bytes when serialized which is larger than the total memory "
                                 "buffer you have configured with the buffer.memory "
                                 "configuration."});
        }
        std::optional<pending_report> failed;
        bool wake = false;
        {
            std::unique_lock lk(mu);
            const bool space = wait_for(cv, lk, cfg.max_block, [&] {
                return closed || buffered_bytes + size <= cfg.buffer_memory;
            });
            if (closed) {
                lk.unlock();
                return fail_now({errc::network_exception,
                                 "Cannot perform operation after producer has been closed"});
            }
            if (!space) {
                lk.unlock();
                return fail_now({errc::request_timed_out,
                                 "Failed to allocate memory within the configured max blocking "
                                 "time " + std::to_string(cfg.max_block.count()) + " ms."});
            }
            buffered_bytes += size;
            ++incomplete;
            const int64_t ts = rec.timestamp.value_or(now_ms());
            auto w = waiting.find(rec.topic);
            const bool queue_behind = w != waiting.end() && !w->second.empty();
            if (!partition_counts.count(rec.topic) || queue_behind) {
                // Partitioned once the topic's metadata is in (behind any already waiting).
                auto& q = waiting[rec.topic];
                wake = q.empty();
                q.push_back({std::move(rec), std::move(cb), size, ts, clock::now()});
            } else {
                failed = append_locked(std::move(rec), std::move(cb), size, ts, clock::now(), wake);
            }
        }
        if (failed) deliver({std::move(*failed)});
        if (wake) wake_sender();
    }

    status flush(milliseconds timeout) {
        if (loop.in_loop_thread()) {
            return {errc::invalid_request, "flush() cannot be called from a delivery callback"};
        }
        {
            std::lock_guard lk(mu);
            ++flushing;
        }
        wake_sender();
        std::unique_lock lk(mu);
        const bool done = wait_for(cv, lk, timeout, [&] { return incomplete == 0; });
        --flushing;
        if (done) return {};
        return {errc::request_timed_out,
                "Timed out after " + std::to_string(timeout.count()) +
                    " ms while waiting for the records to be sent"};
    }

    void close(milliseconds timeout) {
        std::lock_guard close_lock(close_mu);
        if (closed_once) return;
        closed_once = true;
        const bool on_loop = loop.in_loop_thread();
        {
            std::lock_guard lk(mu);
            closed = true;
            ++flushing;  // what is queued goes out now
        }
        cv.notify_all();  // senders blocked on buffer space give up
        if (on_loop) {
            abort_all();
            return;
        }
        wake_sender();
        {
            std::unique_lock lk(mu);
            wait_for(cv, lk, timeout, [&] { return incomplete == 0; });
        }
        loop.call([this] {
            abort_all();
            net.close();
            stopped = true;
            if (timer) timer->cancel();
        });
        loop.stop();
    }

    result<std::vector<partition_info>> partitions_for(const std::string& topic) {
        if (loop.in_loop_thread()) {
            return status(errc::invalid_request, "partitions_for() blocks: not from a callback");
        }
        loop.post([this, topic] {
            net.add_topics({topic});
            net.request_update();
        });
        const auto deadline = clock::now() + cfg.max_block;
        std::unique_lock lk(mu);
        while (!partition_counts.count(topic)) {
            if (closed) return status(errc::network_exception, "the producer is closed");
            if (cv.wait_until(lk, deadline) == std::cv_status::timeout &&
                !partition_counts.count(topic)) {
                return status(errc::request_timed_out,
                              "Topic " + topic + " not present in metadata after " +
                                  std::to_string(cfg.max_block.count()) + " ms.");
            }
        }
        lk.unlock();
        return loop.call([&] {
            const topic_info* t = net.metadata().topic(topic);
            return t ? t->partitions : std::vector<partition_info>{};
        });
    }

    // ---- shared helpers

    // Appends a record whose topic has metadata. Returns a report when the record is refused.
    std::optional<pending_report> append_locked(producer_record rec, delivery_callback cb,
                                                size_t size, int64_t ts, clock::time_point now,
                                                bool& wake) {
        const int32_t n = partition_counts.at(rec.topic);
        int32_t p;
        if (rec.partition) {
            p = *rec.partition;
            if (p < 0 || p >= n) {
                return pending_report{
                    std::move(cb),
                    {rec.topic, p, -1, -1,
                     status(errc::unknown_topic_or_partition,
                            "Invalid partition given with record: " + std::to_string(p) +
                                " is not in the range [0..." + std::to_string(n) + ").")},
                    size};
            }
        } else {
            const size_t rsize = record_size_upper_bound(rec.key, rec.value, rec.headers);
            p = part.partition(rec.topic, rec.key, n, [&](int32_t candidate) {
                return acc.opens_new_batch({rec.topic, candidate}, rsize);
            });
        }
        auto r = acc.append({rec.topic, p}, ts, rec.key, rec.value, rec.headers, std::move(cb),
                            size, now);
        wake = wake || r.new_batch || r.batch_full;
        return std::nullopt;
    }

    void wake_sender() {
        if (wake_pending.exchange(true)) return;
        loop.post([this] {
            wake_pending = false;
            run_sender();
        });
    }

    // Runs callbacks (outside the lock), then releases their buffer space and counts.
    void deliver(std::vector<pending_report> reports) {
        size_t bytes = 0;
        for (auto& r : reports) {
            bytes += r.reserved_bytes;
            if (!r.callback) continue;
            try {
                r.callback(r.report);
            } catch (const std::exception& e) {
                logging::get("client")->error("a delivery callback threw: {}", e.what());
            } catch (...) {
                logging::get("client")->error("a delivery callback threw");
            }
        }
        {
            std::lock_guard lk(mu);
            buffered_bytes -= bytes;
            incomplete -= reports.size();
        }
        cv.notify_all();
    }

    static void add_batch_reports(std::vector<pending_report>& out, producer_batch& b,
                                  const status& error, int64_t base_offset,
                                  int64_t log_append_time) {
        for (size_t i = 0; i < b.records.size(); ++i) {
            auto& e = b.records[i];
            delivery_report rep;
            rep.topic = b.tp.topic;
            rep.partition = b.tp.partition;
            rep.error = error;
            if (error.ok()) {
                rep.offset = base_offset >= 0 ? base_offset + static_cast<int64_t>(i) : -1;
                rep.timestamp = log_append_time >= 0 ? log_append_time : e.timestamp;
            }
            out.push_back({std::move(e.callback), std::move(rep), e.reserved_bytes});
        }
    }

    // ---- loop thread

    void on_metadata(const status&) {
        {
            std::lock_guard lk(mu);
            metadata_seen = true;
            for (const auto& [name, t] : net.metadata().topics()) {
                if (auto n = net.metadata().partition_count(name)) partition_counts[name] = *n;
                else partition_counts.erase(name);
            }
        }
        cv.notify_all();
        run_sender();
    }

    void run_sender() {
        if (stopped) return;
        const auto now = clock::now();
        std::vector<pending_report> failures;
        std::map<int32_t, std::vector<std::vector<std::unique_ptr<producer_batch>>>> requests;
        bool need_metadata = false;
        std::optional<clock::time_point> next_wake;
        auto wake_at = [&](clock::time_point t) {
            if (!next_wake || t < *next_wake) next_wake = t;
        };
        {
            std::lock_guard lk(mu);
            move_waiting_records(now, failures, need_metadata, wake_at);

            for (auto& b : acc.expire(now - cfg.delivery_timeout)) {
                add_batch_reports(
                    failures, *b,
                    status(errc::request_timed_out,
                           "Expiring " + std::to_string(b->record_count()) + " record(s) for " +
                               b->tp.dir_name() + ":" +
                               std::to_string(std::chrono::duration_cast<milliseconds>(
                                                  now - b->created)
                                                  .count()) +
                               " ms has passed since batch creation"),
                    -1, -1);
            }

            const bool flush_all = flushing > 0;
            // One Produce request per broker per pass, a batch per partition in it; passes
            // repeat while batches and in-flight room remain.
            for (;;) {
                std::map<int32_t, size_t> pass_bytes;
                std::map<int32_t, std::vector<std::unique_ptr<producer_batch>>> pass;
                auto drained = acc.drain(now, flush_all, [&](const producer_batch& b) {
                    auto leader = net.metadata().leader(b.tp);
                    if (!leader) {
                        need_metadata = true;
                        return false;
                    }
                    if (in_flight_per_node[*leader] >= cfg.max_in_flight) return false;
                    size_t& bytes = pass_bytes[*leader];
                    if (bytes > 0 && bytes + b.size_bytes() > cfg.max_request_size) return false;
                    bytes += b.size_bytes();
                    return true;
                });
                if (drained.empty()) break;
                for (auto& b : drained) {
                    const int32_t node = *net.metadata().leader(b->tp);
                    pass[node].push_back(std::move(b));
                }
                for (auto& [node, batches] : pass) {
                    ++in_flight_per_node[node];
                    requests[node].push_back(std::move(batches));
                }
            }
            if (auto t = acc.next_ready_time(now, flush_all)) wake_at(*t);
            if (auto t = acc.oldest_batch_created()) wake_at(*t + cfg.delivery_timeout);
        }
        if (!failures.empty()) deliver(std::move(failures));
        for (auto& [node, list] : requests) {
            for (auto& batches : list) send_produce(node, std::move(batches));
        }
        if (need_metadata) net.request_update();
        arm_timer(next_wake);
    }

    // Partitions and appends the records that waited for their topic's metadata, in order;
    // fails those that waited max.block.ms or whose topic cannot exist. REQUIRES: mu held.
    template <typename WakeAt>
    void move_waiting_records(clock::time_point now, std::vector<pending_report>& failures,
                              bool& need_metadata, WakeAt&& wake_at) {
        for (auto it = waiting.begin(); it != waiting.end();) {
            const std::string& topic = it->first;
            auto& q = it->second;
            const topic_info* t = net.metadata().topic(topic);
            const bool fatal = t && t->error != errc::none && !is_retriable(t->error);
            if (partition_counts.count(topic)) {
                while (!q.empty()) {
                    auto w = std::move(q.front());
                    q.pop_front();
                    bool ignored_wake = false;
                    if (auto f = append_locked(std::move(w.record), std::move(w.callback),
                                               w.reserved_bytes, w.timestamp, now, ignored_wake)) {
                        failures.push_back(std::move(*f));
                    }
                }
            } else {
                net.add_topics({topic});
                need_metadata = true;
                while (!q.empty() && (fatal || now - q.front().enqueued >= cfg.max_block)) {
                    auto w = std::move(q.front());
                    q.pop_front();
                    status s = fatal ? status(t->error, t->error_message.empty()
                                                            ? errc_message(t->error)
                                                            : t->error_message)
                                     : status(errc::request_timed_out,
                                              "Topic " + topic + " not present in metadata after " +
                                                  std::to_string(cfg.max_block.count()) + " ms.");
                    failures.push_back({std::move(w.callback),
                                        {topic, w.record.partition.value_or(-1), -1, -1, std::move(s)},
                                        w.reserved_bytes});
                }
                if (!q.empty()) wake_at(q.front().enqueued + cfg.max_block);
            }
            it = q.empty() ? waiting.erase(it) : std::next(it);
        }
    }

    void arm_timer(std::optional<clock::time_point> at) {
        if (!at) return;
        if (timer_at && *timer_at <= *at) return;  // an earlier wake-up is already set
        if (timer) timer->cancel();
        timer_at = at;
        const auto delay = std::max(milliseconds(0), std::chrono::ceil<milliseconds>(*at - clock::now()));
        timer = loop.run_after(delay, [this] {
            timer_at.reset();
            run_sender();
        });
    }

    void send_produce(int32_t node, std::vector<std::unique_ptr<producer_batch>> batches) {
        const uint64_t id = next_request_id++;
        native::produce_request req;
        req.acks = cfg.acks;
        req.timeout_ms = static_cast<int32_t>(cfg.request_timeout.count());
        for (auto& b : batches) {
            ++b->attempts;
            auto t = std::find_if(req.topics.begin(), req.topics.end(),
                                  [&](const auto& x) { return x.name == b->tp.topic; });
            if (t == req.topics.end()) {
                req.topics.push_back({b->tp.topic, {}});
                t = std::prev(req.topics.end());
            }
            t->partitions.push_back({b->tp.partition, net.metadata().leader_epoch(b->tp), std::span<std::byte>(b->bytes)});
        }
        in_flight[id] = std::move(batches);
        auto on_done = [this, id, node](result<response> r) { on_produce_done(id, node, std::move(r)); };
        // The request is encoded (copied) inside send: the spans need to live only until then.
        if (cfg.acks == 0) {
            net.send_no_response(node, native::api_key::produce, req, std::move(on_done));
        } else {
            net.send(node, native::api_key::produce, req, std::move(on_done));
        }
    }

    void on_produce_done(uint64_t id, int32_t node, result<response> r) {
        --in_flight_per_node[node];
        auto it = in_flight.find(id);
        if (it == in_flight.end()) return;  // already failed by close()
        auto batches = std::move(it->second);
        in_flight.erase(it);
        if (stopped) return;

        status request_error;
        native::produce_response resp;
        if (!r) {
            request_error = r.error();
        } else if (cfg.acks != 0) {
            auto m = r->decode<native::produce_response>();
            if (!m) request_error = m.error();
            else resp = std::move(*m);
        }
        const auto now = clock::now();
        std::vector<pending_report> reports;
        bool refresh = false;
        for (auto& b : batches) {
            status e = request_error;
            int64_t base = -1, append_time = -1;
            if (e.ok() && cfg.acks != 0) {
                const native::produce_response::partition* found = nullptr;
                for (const auto& t : resp.topics) {
                    if (t.name != b->tp.topic) continue;
                    for (const auto& p : t.partitions) {
                        if (p.partition == b->tp.partition) found = &p;
                    }
                }
                if (!found) {
                    e = status(errc::unknown_server_error,
                               "the produce response has no result for " + b->tp.dir_name());
                } else if (found->error_code != 0) {
                    const auto code = static_cast<errc>(found->error_code);
                    e = status(code, found->error_message.empty() ? errc_message(code)
                                                                  : found->error_message);
                } else {
                    base = found->base_offset;
                    append_time = found->log_append_time;
                }
            }
            if (!e.ok() && is_retriable(e.code) && b->attempts <= cfg.retries &&
                now + cfg.retry_backoff < b->created + cfg.delivery_timeout) {
                logging::get("client")->debug("retrying a batch for {} after {}", b->tp.dir_name(),
                                              e.message);
                refresh = refresh || invalidates_metadata(e.code);
                std::lock_guard lk(mu);
                acc.reenqueue(std::move(b), now + cfg.retry_backoff);
                continue;
            }
            add_batch_reports(reports, *b, e, base, append_time);
        }
        if (!reports.empty()) deliver(std::move(reports));
        if (refresh) net.request_update();
        run_sender();
    }

    // Fails everything not yet reported (close). Loop thread.
    void abort_all() {
        status s(errc::network_exception,
                 "the producer was closed before the record was acknowledged");
        std::vector<pending_report> reports;
        {
            std::lock_guard lk(mu);
            for (auto& b : acc.take_all()) add_batch_reports(reports, *b, s, -1, -1);
            for (auto& [topic, q] : waiting) {
                for (auto& w : q) {
                    reports.push_back({std::move(w.callback),
                                       {topic, w.record.partition.value_or(-1), -1, -1, s},
                                       w.reserved_bytes});
                }
            }
            waiting.clear();
        }
        for (auto& [id, batches] : in_flight) {
            for (auto& b : batches) add_batch_reports(reports, *b, s, -1, -1);
        }
        in_flight.clear();
        if (!reports.empty()) deliver(std::move(reports));
    }
};

result<std::unique_ptr<producer>> producer::create(const properties& props) {
    auto c = producer_config::parse(props);
    if (!c) return c.error();
    for (const auto& w : c->warnings) logging::get("client")->warn("{}", w);
    return std::make_unique<producer>(std::move(*c));
}

producer::producer(producer_config config) : impl_(std::make_shared<impl>(std::move(config))) {
    impl_->start();
}

producer::~producer() { close(); }

void producer::send(producer_record record, delivery_callback callback) {
    impl_->send(std::move(record), std::move(callback));
}

std::future<delivery_report> producer::send(producer_record record) {
    auto promise = std::make_shared<std::promise<delivery_report>>();
    auto future = promise->get_future();
    impl_->send(std::move(record), [promise](const delivery_report& r) { promise->set_value(r); });
    return future;
}

status producer::flush(std::chrono::milliseconds timeout) { return impl_->flush(timeout); }

void producer::close(std::chrono::milliseconds timeout) { impl_->close(timeout); }

result<std::vector<partition_info>> producer::partitions_for(const std::string& topic) {
    return impl_->partitions_for(topic);
}

const producer_config& producer::config() const noexcept { return impl_->cfg; }

}  // namespace gregor::client
