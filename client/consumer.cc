#include "client/consumer.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <set>

#include "client/errors.h"
#include "client/event_loop.h"
#include "client/network_client.h"
#include "common/logger.h"
#include "common/record_batch.h"

namespace gregor::client {
namespace {

using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
namespace rb = record_batch;

enum class reset_kind { none, earliest, latest, timestamp };

struct partition_state {
    std::optional<int64_t> position;  // the next offset poll() returns
    reset_kind reset = reset_kind::none;
    int64_t reset_timestamp = 0;
    uint64_t epoch = 0;  // bumped by every seek: answers to older requests are dropped
    bool fetch_in_flight = false;
    bool reset_in_flight = false;
    std::deque<consumer_record> buffer;  // fetched, offsets >= position
    int64_t buffer_end = -1;             // the position once `buffer` is returned
    clock::time_point retry_at{};        // backoff after a retriable error
    int64_t high_watermark = -1;

    bool fetchable() const { return position && reset == reset_kind::none; }
};

std::string partitions_text(const std::vector<topic_partition>& tps) {
    std::string s = "[";
    for (size_t i = 0; i < tps.size(); ++i) s += (i ? ", " : "") + tps[i].dir_name();
    return s + "]";
}

struct fetch_entry {
    topic_partition tp;
    uint64_t epoch = 0;
    int64_t offset = 0;
};

}  // namespace

struct consumer::impl {
    explicit impl(consumer_config c)
        : cfg(std::move(c)), net(loop, cfg, cfg.allow_auto_create_topics) {}

    consumer_config cfg;
    event_loop loop;     // declared before everything it runs: destroyed after them
    network_client net;  // loop thread only

    mutable std::mutex mu;
    std::condition_variable cv;  // records, positions or an error arrived; wakeup()
    // ---- guarded by mu
    std::map<topic_partition, partition_state> assigned;
    std::optional<status> pending_error;
    bool woken = false;
    bool closed = false;
    size_t next_partition = 0;  // where take_records starts, for fairness
    // ---- loop thread only
    std::set<int32_t> fetching_nodes;  // one fetch in flight per leader
    std::shared_ptr<event_loop::timer> timer;
    std::optional<clock::time_point> timer_at;
    bool stopped = false;
    std::atomic<bool> kick_pending{false};

    // The loop stops (its thread joined) before the members its tasks use are destroyed.
    ~impl() {
        if (!loop.in_loop_thread()) loop.stop();
    }

    void start() {
        loop.post([this] { net.add_listener([this](const status&) { run_fetcher(); }); });
    }

    // ---- user threads

    void assign(const std::vector<topic_partition>& tps) {
        std::set<std::string> topics;
        {
            std::lock_guard lk(mu);
            std::map<topic_partition, partition_state> next;
            for (const auto& tp : tps) {
                auto it = assigned.find(tp);
                next[tp] = it != assigned.end() ? std::move(it->second) : partition_state{};
                topics.insert(tp.topic);
            }
            assigned = std::move(next);
        }
        loop.post([this, topics = std::move(topics)] {
            net.set_topics(topics);
            net.request_update();
        });
        kick();
    }

    std::vector<topic_partition> assignment() const {
        std::lock_guard lk(mu);
        std::vector<topic_partition> out;
        for (const auto& [tp, st] : assigned) out.push_back(tp);
        return out;
    }

    // Applies `fn` to the named partitions (all assigned ones when empty), bumping their epoch
    // and dropping what was fetched for the old position.
    template <typename Fn>
    status reposition(const std::vector<topic_partition>& tps, Fn&& fn) {
        {
            std::lock_guard lk(mu);
            std::vector<topic_partition> missing;
            for (const auto& tp : tps) {
                if (!assigned.count(tp)) missing.push_back(tp);
            }
            if (!missing.empty()) {
                return {errc::invalid_request,
                        "No current assignment for partition " + missing.front().dir_name()};
            }
            for (auto& [tp, st] : assigned) {
                if (!tps.empty() && std::find(tps.begin(), tps.end(), tp) == tps.end()) continue;
                ++st.epoch;
                st.buffer.clear();
                st.buffer_end = -1;
                st.retry_at = {};
                fn(st);
            }
        }
        kick();
        return {};
    }

    status seek(const topic_partition& tp, int64_t offset) {
        if (offset < 0) {
            return {errc::invalid_request, "seek offset must not be negative"};
        }
        return reposition({tp}, [&](partition_state& st) {
            st.position = offset;
            st.reset = reset_kind::none;
        });
    }

    status seek_to(const std::vector<topic_partition>& tps, reset_kind kind, int64_t ts = 0) {
        return reposition(tps, [&](partition_state& st) {
            st.reset = kind;
            st.reset_timestamp = ts;
        });
    }

    result<int64_t> position(const topic_partition& tp, milliseconds timeout) {
        const auto deadline = clock::now() + timeout;
        kick();
        std::unique_lock lk(mu);
        for (;;) {
            auto it = assigned.find(tp);
            if (it == assigned.end()) {
                return status(errc::invalid_request,
                              "You can only check the position for partitions assigned to this "
                              "consumer.");
            }
            if (it->second.fetchable()) return *it->second.position;
            if (pending_error) {
                status e = std::move(*pending_error);
                pending_error.reset();
                return e;
            }
            if (cv.wait_until(lk, deadline) == std::cv_status::timeout) {
                return status(errc::request_timed_out,
                              "Timeout of " + std::to_string(timeout.count()) +
                                  "ms expired before the position for partition " + tp.dir_name() +
                                  " could be determined");
            }
        }
    }

    result<std::vector<consumer_record>> poll(milliseconds timeout) {
        const auto deadline = timeout == milliseconds::max() ? clock::time_point::max()
                                                             : clock::now() + timeout;
        kick();
        std::unique_lock lk(mu);
        for (;;) {
            if (pending_error) {
                status e = std::move(*pending_error);
                pending_error.reset();
                return e;
            }
            if (woken) {
                woken = false;
                return std::vector<consumer_record>{};
            }
            auto records = take_records();
            if (!records.empty()) {
                lk.unlock();
                kick();  // partitions whose buffers emptied can be fetched again
                return records;
            }
            if (closed) return status(errc::network_exception, "the consumer is closed");
            if (clock::now() >= deadline) return std::vector<consumer_record>{};
            if (deadline == clock::time_point::max()) cv.wait(lk);
            else cv.wait_until(lk, deadline);
        }
    }

    void wakeup() {
        {
            std::lock_guard lk(mu);
            woken = true;
        }
        cv.notify_all();
    }

    // Takes up to max.poll.records buffered records, advancing positions. REQUIRES: mu held.
    std::vector<consumer_record> take_records() {
        std::vector<consumer_record> out;
        if (assigned.empty()) return out;
        const size_t limit = static_cast<size_t>(cfg.max_poll_records);
        const size_t n = assigned.size();
        auto it = assigned.begin();
        std::advance(it, next_partition % n);
        for (size_t k = 0; k < n && out.size() < limit; ++k) {
            auto& st = it->second;
            while (!st.buffer.empty() && out.size() < limit) {
                consumer_record r = std::move(st.buffer.front());
                st.buffer.pop_front();
                st.position = r.offset + 1;
                out.push_back(std::move(r));
            }
            if (st.buffer.empty() && st.buffer_end >= 0) {
                st.position = std::max(st.position.value_or(0), st.buffer_end);
                st.buffer_end = -1;
            }
            if (++it == assigned.end()) it = assigned.begin();
        }
        next_partition = (next_partition + 1) % n;
        return out;
    }

    result<std::map<topic_partition, offset_and_timestamp>> list_offsets_sync(
        std::map<topic_partition, int64_t> query, milliseconds timeout) {
        if (loop.in_loop_thread()) {
            return status(errc::invalid_request, "blocking call from the consumer's I/O thread");
        }
        auto promise =
            std::make_shared<std::promise<result<std::map<topic_partition, offset_and_timestamp>>>>();
        auto future = promise->get_future();
        const auto deadline = clock::now() + timeout;
        loop.post([this, query = std::move(query), deadline, promise] {
            list_offsets(query, deadline, [promise](auto r) { promise->set_value(std::move(r)); });
        });
        if (future.wait_until(deadline + milliseconds(100)) != std::future_status::ready) {
            return status(errc::request_timed_out,
                          "Failed to get offsets in " + std::to_string(timeout.count()) + "ms");
        }
        return future.get();
    }

    result<std::vector<partition_info>> partitions_for(const std::string& topic,
                                                       milliseconds timeout) {
        using out_t = result<std::vector<partition_info>>;
        auto promise = std::make_shared<std::promise<out_t>>();
        auto future = promise->get_future();
        const auto deadline = clock::now() + timeout;
        loop.post([this, topic, deadline, promise] {
            native::metadata_request req;
            req.topics = std::vector<std::string>{topic};
            req.allow_auto_topic_creation = cfg.allow_auto_create_topics;
            net.call<native::metadata_response>(
                {}, native::api_key::metadata, req, deadline,
                [this, topic, promise](result<native::metadata_response> m) {
                    if (!m) return promise->set_value(m.error());
                    net.apply_metadata(*m, false);
                    const topic_info* t = net.metadata().topic(topic);
                    if (t == nullptr || t->error == errc::unknown_topic_or_partition) {
                        return promise->set_value(
                            status(errc::unknown_topic_or_partition,
                                   "Topic " + topic + " does not exist"));
                    }
                    if (t->error != errc::none && t->partitions.empty()) {
                        return promise->set_value(status(t->error, t->error_message));
                    }
                    promise->set_value(t->partitions);
                });
        });
        if (future.wait_until(deadline + milliseconds(100)) != std::future_status::ready) {
            return status(errc::request_timed_out, "Timeout expired while fetching topic metadata");
        }
        return future.get();
    }

    void close() {
        {
            std::lock_guard lk(mu);
            if (closed) return;
            closed = true;
        }
        cv.notify_all();
        if (loop.in_loop_thread()) return;  // the destructor finishes the job
        loop.call([this] {
            stopped = true;
            if (timer) timer->cancel();
            net.close();
        });
        loop.stop();
    }

    // ---- loop thread

    void kick() {
        if (kick_pending.exchange(true)) return;
        loop.post([this] {
            kick_pending = false;
            run_fetcher();
        });
    }

    void run_fetcher() {
        if (stopped) return;
        const auto now = clock::now();
        bool need_metadata = false;
        std::optional<clock::time_point> next_wake;
        std::map<topic_partition, int64_t> resets;
        std::map<topic_partition, uint64_t> reset_epochs;
        std::map<int32_t, std::vector<fetch_entry>> fetches;
        bool notify = false;
        {
            std::lock_guard lk(mu);
            std::vector<topic_partition> undefined;
            for (auto& [tp, st] : assigned) {
                if (!st.position && st.reset == reset_kind::none) {
                    switch (cfg.auto_offset_reset) {
                    case offset_reset::earliest: st.reset = reset_kind::earliest; break;
                    case offset_reset::latest: st.reset = reset_kind::latest; break;
                    case offset_reset::none: undefined.push_back(tp); continue;
                    }
                }
                if (now < st.retry_at) {
                    if (!next_wake || st.retry_at < *next_wake) next_wake = st.retry_at;
                    continue;
                }
                if (st.reset != reset_kind::none) {
                    if (st.reset_in_flight) continue;
                    st.reset_in_flight = true;
                    resets[tp] = st.reset == reset_kind::earliest ? native::kEarliestTimestamp
                                 : st.reset == reset_kind::latest ? native::kLatestTimestamp
                                                                  : st.reset_timestamp;
                    reset_epochs[tp] = st.epoch;
                    continue;
                }
                if (st.fetch_in_flight || !st.buffer.empty() || !st.fetchable()) continue;
                auto leader = net.metadata().leader(tp);
                if (!leader) {
                    need_metadata = true;
                    continue;
                }
                if (fetching_nodes.count(*leader)) continue;
                fetches[*leader].push_back({tp, st.epoch, *st.position});
            }
            for (auto& [node, entries] : fetches) {
                fetching_nodes.insert(node);
                for (const auto& e : entries) assigned[e.tp].fetch_in_flight = true;
            }
            if (!undefined.empty() && !pending_error) {
                pending_error = status(errc::offset_out_of_range,
                                       "Undefined offset with no reset policy for partitions: " +
                                           partitions_text(undefined));
                notify = true;
            }
        }
        if (notify) cv.notify_all();
        if (!resets.empty()) start_reset(std::move(resets), std::move(reset_epochs));
        for (auto& [node, entries] : fetches) send_fetch(node, std::move(entries));
        if (need_metadata) net.request_update();
        if (next_wake) arm_timer(*next_wake);
    }

    void arm_timer(clock::time_point at) {
        if (timer_at && *timer_at <= at) return;
        if (timer) timer->cancel();
        timer_at = at;
        const auto delay = std::max(milliseconds(0), std::chrono::ceil<milliseconds>(at - clock::now()));
        timer = loop.run_after(delay, [this] {
            timer_at.reset();
            run_fetcher();
        });
    }

    void send_fetch(int32_t node, std::vector<fetch_entry> entries) {
        native::fetch_request req;
        req.replica_id = -1;
        req.max_wait_ms = static_cast<int32_t>(cfg.fetch_max_wait.count());
        req.min_bytes = cfg.fetch_min_bytes;
        req.max_bytes = cfg.fetch_max_bytes;
        for (const auto& e : entries) {
            auto t = std::find_if(req.topics.begin(), req.topics.end(),
                                  [&](const auto& x) { return x.name == e.tp.topic; });
            if (t == req.topics.end()) {
                req.topics.push_back({e.tp.topic, {}});
                t = std::prev(req.topics.end());
            }
            t->partitions.push_back({e.tp.partition, -1, e.offset, cfg.max_partition_fetch_bytes});
        }
        net.send(
            node, native::api_key::fetch, req,
            [this, node, entries = std::move(entries)](result<response> r) mutable {
                on_fetch(node, entries, std::move(r));
            },
            cfg.request_timeout + cfg.fetch_max_wait);
    }

    void on_fetch(int32_t node, const std::vector<fetch_entry>& entries, result<response> r) {
        fetching_nodes.erase(node);
        if (stopped) return;
        status request_error;
        native::fetch_response resp;
        if (!r) {
            request_error = r.error();
        } else if (auto m = r->decode<native::fetch_response>(); !m) {
            request_error = m.error();
        } else {
            resp = std::move(*m);  // its record spans point into *r, alive until we return
        }
        const auto now = clock::now();
        bool refresh = false;
        {
            std::lock_guard lk(mu);
            for (const auto& e : entries) {
                auto it = assigned.find(e.tp);
                if (it == assigned.end()) continue;
                partition_state& st = it->second;
                st.fetch_in_flight = false;
                if (st.epoch != e.epoch || !st.fetchable() || *st.position != e.offset) continue;
                if (!request_error.ok()) {
                    handle_error(e.tp, st, request_error, now, refresh);
                    continue;
                }
                const native::fetch_response::partition* found = nullptr;
                for (const auto& t : resp.topics) {
                    if (t.name != e.tp.topic) continue;
                    for (const auto& p : t.partitions) {
                        if (p.partition == e.tp.partition) found = &p;
                    }
                }
                if (found == nullptr) continue;  // fetched again next round
                if (found->error_code != 0) {
                    const auto code = static_cast<errc>(found->error_code);
                    handle_error(e.tp, st,
                                 status(code, found->error_message.empty() ? errc_message(code)
                                                                           : found->error_message),
                                 now, refresh);
                    continue;
                }
                st.high_watermark = found->high_watermark;
                take_batches(e.tp, st, e.offset, found->records);
            }
        }
        cv.notify_all();
        if (refresh) net.request_update();
        run_fetcher();
    }

    // Reacts to a fetch error for one partition. REQUIRES: mu held.
    void handle_error(const topic_partition& tp, partition_state& st, const status& error,
                      clock::time_point now, bool& refresh) {
        if (error.code == errc::offset_out_of_range) {
            switch (cfg.auto_offset_reset) {
            case offset_reset::earliest: st.reset = reset_kind::earliest; return;
            case offset_reset::latest: st.reset = reset_kind::latest; return;
            case offset_reset::none:
                if (!pending_error) {
                    pending_error = status(
                        errc::offset_out_of_range,
                        "Fetch position FetchPosition{offset=" + std::to_string(*st.position) +
                            "} is out of range for partition " + tp.dir_name());
                }
                st.retry_at = now + cfg.retry_backoff;
                return;
            }
        }
        if (is_retriable(error.code)) {
            logging::get("client")->debug("fetch of {} failed, retrying: {}", tp.dir_name(),
                                          error.message);
            st.retry_at = now + cfg.retry_backoff;
            refresh = refresh || invalidates_metadata(error.code);
            return;
        }
        if (!pending_error) pending_error = error;
        st.retry_at = now + cfg.retry_backoff;
    }

    // Decodes the fetched batches into the partition's buffer. REQUIRES: mu held.
    void take_batches(const topic_partition& tp, partition_state& st, int64_t fetch_offset,
                      std::span<const std::byte> records) {
        int64_t next = fetch_offset;
        while (!records.empty()) {
            const rb::frame f = rb::next_frame(records);
            if (f.what == rb::frame::kind::incomplete) break;  // a partial batch at the end
            if (f.what == rb::frame::kind::corrupt) {
                fail_batch(tp, st, "Record batch for partition " + tp.dir_name() + " at offset " +
                                       std::to_string(next) + " is invalid");
                break;
            }
            const auto batch = records.first(f.size);
            records = records.subspan(f.size);
            const rb::batch_view v(batch);
            if (cfg.check_crcs && !v.crc_valid()) {
                fail_batch(tp, st, "Record batch for partition " + tp.dir_name() + " at offset " +
                                       std::to_string(v.base_offset()) +
                                       " is invalid, cause: Record is corrupt (stored crc = " +
                                       std::to_string(v.crc()) + ")");
                break;
            }
            if (v.last_offset() < next) continue;  // wholly before the position
            if (!v.is_control()) {
                auto decoded = rb::decode_records(batch);
                if (!decoded) {
                    fail_batch(tp, st, decoded.error().message);
                    break;
                }
                for (auto& rec : *decoded) {
                    if (rec.offset < fetch_offset) continue;
                    consumer_record c;
                    c.topic = tp.topic;
                    c.partition = tp.partition;
                    c.offset = rec.offset;
                    c.timestamp = rec.timestamp;
                    c.ts_type = v.log_append_time() ? timestamp_type::log_append_time
                                                    : timestamp_type::create_time;
                    c.key = std::move(rec.key);
                    c.value = std::move(rec.value);
                    c.headers = std::move(rec.headers);
                    st.buffer.push_back(std::move(c));
                }
            }
            next = v.last_offset() + 1;
        }
        if (st.buffer.empty()) {
            if (next > *st.position) st.position = next;
        } else {
            st.buffer_end = next;
        }
    }

    void fail_batch(const topic_partition&, partition_state& st, std::string message) {
        if (!pending_error) pending_error = status(errc::corrupt_message, std::move(message));
        st.retry_at = clock::now() + cfg.retry_backoff;
    }

    void start_reset(std::map<topic_partition, int64_t> query,
                     std::map<topic_partition, uint64_t> epochs) {
        list_offsets(query, clock::now() + cfg.request_timeout,
                     [this, query, epochs](result<std::map<topic_partition, offset_and_timestamp>> r) {
                         on_reset(query, epochs, std::move(r));
                     });
    }

    void on_reset(const std::map<topic_partition, int64_t>& query,
                  const std::map<topic_partition, uint64_t>& epochs,
                  result<std::map<topic_partition, offset_and_timestamp>> r) {
        if (stopped) return;
        const auto now = clock::now();
        {
            std::lock_guard lk(mu);
            for (const auto& [tp, ts] : query) {
                auto it = assigned.find(tp);
                if (it == assigned.end()) continue;
                partition_state& st = it->second;
                st.reset_in_flight = false;
                if (st.epoch != epochs.at(tp)) continue;  // seeked meanwhile
                if (!r) {
                    st.retry_at = now + cfg.retry_backoff;
                    if (!is_retriable(r.code()) && !pending_error) pending_error = r.error();
                    continue;
                }
                auto found = r->find(tp);
                if (found == r->end()) {
                    st.retry_at = now + cfg.retry_backoff;
                    continue;
                }
                if (found->second.offset < 0) {
                    // No record that recent: the log end, as a seek by time then means.
                    st.reset = reset_kind::latest;
                    continue;
                }
                st.position = found->second.offset;
                st.reset = reset_kind::none;
                st.buffer.clear();
                st.buffer_end = -1;
            }
        }
        cv.notify_all();
        run_fetcher();
    }

    // ListOffsets for `query` (timestamp per partition: -2 earliest, -1 latest), each partition
    // asked of its leader, retried on retriable errors until `deadline`. Loop thread.
    using offsets_result = result<std::map<topic_partition, offset_and_timestamp>>;
    struct list_offsets_op {
        std::map<topic_partition, int64_t> remaining;
        std::map<topic_partition, offset_and_timestamp> found;
        clock::time_point deadline;
        std::function<void(offsets_result)> done;
        int outstanding = 0;
        std::optional<status> fatal;
        status last_error;
    };

    void list_offsets(std::map<topic_partition, int64_t> query, clock::time_point deadline,
                      std::function<void(offsets_result)> done) {
        auto op = std::make_shared<list_offsets_op>();
        op->remaining = std::move(query);
        op->deadline = deadline;
        op->done = std::move(done);
        std::vector<std::string> topics;
        for (const auto& [tp, ts] : op->remaining) topics.push_back(tp.topic);
        net.add_topics(topics);
        list_offsets_round(op);
    }

    void list_offsets_round(const std::shared_ptr<list_offsets_op>& op) {
        if (stopped) return;
        if (op->remaining.empty()) return op->done(op->found);
        if (clock::now() >= op->deadline) {
            return op->done(status(errc::request_timed_out,
                                   "Failed to get offsets by times: " +
                                       (op->last_error.ok() ? std::string("timed out")
                                                            : op->last_error.message)));
        }
        std::map<int32_t, native::list_offsets_request> requests;
        bool need_metadata = false;
        for (const auto& [tp, ts] : op->remaining) {
            auto leader = net.metadata().leader(tp);
            if (!leader) {
                need_metadata = true;
                continue;
            }
            auto& req = requests[*leader];
            auto t = std::find_if(req.topics.begin(), req.topics.end(),
                                  [&](const auto& x) { return x.name == tp.topic; });
            if (t == req.topics.end()) {
                req.topics.push_back({tp.topic, {}});
                t = std::prev(req.topics.end());
            }
            t->partitions.push_back({tp.partition, ts});
        }
        if (need_metadata) {
            op->last_error = status(errc::leader_not_available, "no leader known for a partition");
            net.request_update();
        }
        if (requests.empty()) {
            retry_list_offsets(op);
            return;
        }
        op->outstanding = static_cast<int>(requests.size());
        for (auto& [node, req] : requests) {
            net.send(node, native::api_key::list_offsets, req, [this, op](result<response> r) {
                on_list_offsets(op, std::move(r));
            });
        }
    }

    void on_list_offsets(const std::shared_ptr<list_offsets_op>& op, result<response> r) {
        if (stopped) return;
        --op->outstanding;
        bool refresh = false;
        if (!r) {
            op->last_error = r.error();
        } else if (auto m = r->decode<native::list_offsets_response>(); !m) {
            op->last_error = m.error();
            if (!is_retriable(m.code())) op->fatal = m.error();
        } else {
            for (const auto& t : m->topics) {
                for (const auto& p : t.partitions) {
                    const topic_partition tp{t.name, p.partition};
                    if (!op->remaining.count(tp)) continue;
                    const auto code = static_cast<errc>(p.error_code);
                    if (code == errc::none) {
                        op->found[tp] = {p.offset, p.timestamp};
                        op->remaining.erase(tp);
                        continue;
                    }
                    status s(code, p.error_message.empty() ? errc_message(code) : p.error_message);
                    op->last_error = s;
                    if (!is_retriable(code)) op->fatal = s;
                    refresh = refresh || invalidates_metadata(code);
                }
            }
        }
        if (refresh) net.request_update();
        if (op->outstanding > 0) return;
        if (op->fatal) return op->done(*op->fatal);
        if (op->remaining.empty()) return op->done(op->found);
        retry_list_offsets(op);
    }

    void retry_list_offsets(const std::shared_ptr<list_offsets_op>& op) {
        loop.run_after(cfg.retry_backoff, [this, op] { list_offsets_round(op); });
    }
};

result<std::unique_ptr<consumer>> consumer::create(const properties& props) {
    auto c = consumer_config::parse(props);
    if (!c) return c.error();
    for (const auto& w : c->warnings) logging::get("client")->warn("{}", w);
    return std::make_unique<consumer>(std::move(*c));
}

consumer::consumer(consumer_config config) : impl_(std::make_shared<impl>(std::move(config))) {
    impl_->start();
}

consumer::~consumer() { close(); }

void consumer::assign(const std::vector<topic_partition>& partitions) { impl_->assign(partitions); }

std::vector<topic_partition> consumer::assignment() const { return impl_->assignment(); }

status consumer::seek(const topic_partition& tp, int64_t offset) { return impl_->seek(tp, offset); }

status consumer::seek_to_beginning(const std::vector<topic_partition>& partitions) {
    return impl_->seek_to(partitions, reset_kind::earliest);
}

status consumer::seek_to_end(const std::vector<topic_partition>& partitions) {
    return impl_->seek_to(partitions, reset_kind::latest);
}

status consumer::seek_to_timestamp(int64_t timestamp, const std::vector<topic_partition>& partitions) {
    return impl_->seek_to(partitions, reset_kind::timestamp, timestamp);
}

result<int64_t> consumer::position(const topic_partition& tp, std::chrono::milliseconds timeout) {
    return impl_->position(tp, timeout);
}

result<std::vector<consumer_record>> consumer::poll(std::chrono::milliseconds timeout) {
    return impl_->poll(timeout);
}

void consumer::wakeup() { impl_->wakeup(); }

result<std::map<topic_partition, int64_t>> consumer::beginning_offsets(
    const std::vector<topic_partition>& partitions, std::chrono::milliseconds timeout) {
    std::map<topic_partition, int64_t> q;
    for (const auto& tp : partitions) q[tp] = native::kEarliestTimestamp;
    auto r = impl_->list_offsets_sync(std::move(q), timeout);
    if (!r) return r.error();
    std::map<topic_partition, int64_t> out;
    for (const auto& [tp, o] : *r) out[tp] = o.offset;
    return out;
}

result<std::map<topic_partition, int64_t>> consumer::end_offsets(
    const std::vector<topic_partition>& partitions, std::chrono::milliseconds timeout) {
    std::map<topic_partition, int64_t> q;
    for (const auto& tp : partitions) q[tp] = native::kLatestTimestamp;
    auto r = impl_->list_offsets_sync(std::move(q), timeout);
    if (!r) return r.error();
    std::map<topic_partition, int64_t> out;
    for (const auto& [tp, o] : *r) out[tp] = o.offset;
    return out;
}

result<std::map<topic_partition, offset_and_timestamp>> consumer::offsets_for_times(
    const std::map<topic_partition, int64_t>& timestamps, std::chrono::milliseconds timeout) {
    return impl_->list_offsets_sync(timestamps, timeout);
}

result<std::vector<partition_info>> consumer::partitions_for(const std::string& topic,
                                                            std::chrono::milliseconds timeout) {
    return impl_->partitions_for(topic, timeout);
}

void consumer::close() { impl_->close(); }

const consumer_config& consumer::config() const noexcept { return impl_->cfg; }

}  // namespace gregor::client
