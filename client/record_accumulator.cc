#include "client/record_accumulator.h"

#include <algorithm>

#include "common/invariant.h"

namespace gregor::client {

size_t record_size_upper_bound(const std::optional<std::string>& key,
                               const std::optional<std::string>& value,
                               const std::vector<record_header>& headers) noexcept {
    // length (varint) + attributes + timestamp delta (varlong) + offset delta (varint)
    // + key length + value length + header count, each varint at its longest.
    size_t n = 5 + 1 + 10 + 5 + 5 + 5 + 5;
    if (key) n += key->size();
    if (value) n += value->size();
    for (const auto& h : headers) n += 5 + h.key.size() + 5 + (h.value ? h.value->size() : 0);
    return n;
}

size_t producer_batch::reserved_bytes() const noexcept {
    size_t n = 0;
    for (const auto& e : records) n += e.reserved_bytes;
    return n;
}

void producer_batch::close() {
    if (closed()) return;
    GREGOR_INVARIANT(!records.empty(), "a batch is closed only with records in it");
    bytes = builder.build();
    full = true;
}

record_accumulator::record_accumulator(size_t batch_size, std::chrono::milliseconds linger)
    : batch_size_(batch_size), linger_(linger) {}

bool record_accumulator::opens_new_batch(const topic_partition& tp, size_t record_size) const {
    auto it = queues_.find(tp);
    if (it == queues_.end()) return true;
    const producer_batch& last = *it->second.back();
    if (last.full) return true;
    return last.record_count() > 0 && last.size_bytes() + record_size > batch_size_;
}

record_accumulator::append_result record_accumulator::append(
    const topic_partition& tp, int64_t timestamp, const std::optional<std::string>& key,
    const std::optional<std::string>& value, const std::vector<record_header>& headers,
    delivery_callback callback, size_t reserved_bytes, steady_clock::time_point now) {
    append_result r;
    const size_t record_size = record_size_upper_bound(key, value, headers);
    queue& q = queues_[tp];
    if (!q.empty() && !q.back()->full && q.back()->record_count() > 0 &&
        q.back()->size_bytes() + record_size > batch_size_) {
        q.back()->full = true;  // this record does not fit: the batch is done
        r.batch_full = true;
    }
    if (q.empty() || q.back()->full) {
        auto b = std::make_unique<producer_batch>();
        b->tp = tp;
        b->created = now;
        b->retry_at = now;
        b->sequence = next_sequence_++;
        q.push_back(std::move(b));
        r.new_batch = true;
    }
    producer_batch& b = *q.back();
    std::optional<std::string_view> k, v;
    if (key) k = *key;
    if (value) v = *value;
    b.builder.add(timestamp, k, v, headers);
    b.records.push_back({std::move(callback), timestamp, reserved_bytes});
    if (b.size_bytes() >= batch_size_) {
        b.full = true;
        r.batch_full = true;
    }
    return r;
}

bool record_accumulator::ready(const producer_batch& b, steady_clock::time_point now,
                               bool flush_all, bool has_successor) const {
    if (now < b.retry_at) return false;
    return b.full || has_successor || flush_all || now >= b.created + linger_;
}

std::vector<std::unique_ptr<producer_batch>> record_accumulator::drain(
    steady_clock::time_point now, bool flush_all,
    const std::function<bool(const producer_batch&)>& take) {
    std::vector<std::unique_ptr<producer_batch>> out;
    if (queues_.empty()) return out;
    // Start one partition further each time, so that when `take` runs out of room (request
    // size, requests in flight) the same partitions are not always the ones left behind.
    std::vector<topic_partition> order;
    order.reserve(queues_.size());
    for (const auto& [tp, q] : queues_) order.push_back(tp);
    const size_t first = drain_rotation_++ % order.size();
    for (size_t k = 0; k < order.size(); ++k) {
        auto it = queues_.find(order[(first + k) % order.size()]);
        queue& q = it->second;
        producer_batch& front = *q.front();
        if (ready(front, now, flush_all, q.size() > 1) && take(front)) {
            front.close();
            out.push_back(std::move(q.front()));
            q.pop_front();
        }
        if (q.empty()) queues_.erase(it);
    }
    return out;
}

void record_accumulator::reenqueue(std::unique_ptr<producer_batch> batch,
                                   steady_clock::time_point retry_at) {
    batch->retry_at = retry_at;
    batch->close();
    queue& q = queues_[batch->tp];
    auto at = std::find_if(q.begin(), q.end(), [&](const std::unique_ptr<producer_batch>& b) {
        return b->sequence > batch->sequence;
    });
    q.insert(at, std::move(batch));
}

std::optional<steady_clock::time_point> record_accumulator::next_ready_time(
    steady_clock::time_point now, bool flush_all) const {
    std::optional<steady_clock::time_point> best;
    auto consider = [&](steady_clock::time_point t) {
        if (t > now && (!best || t < *best)) best = t;
    };
    for (const auto& [tp, q] : queues_) {
        const producer_batch& front = *q.front();
        if (front.retry_at > now) {
            consider(front.retry_at);
        } else if (!front.full && !flush_all && q.size() == 1) {
            consider(front.created + linger_);
        }
    }
    return best;
}

std::optional<steady_clock::time_point> record_accumulator::oldest_batch_created() const {
    std::optional<steady_clock::time_point> best;
    for (const auto& [tp, q] : queues_) {
        for (const auto& b : q) {
            if (!best || b->created < *best) best = b->created;
        }
    }
    return best;
}

std::vector<std::unique_ptr<producer_batch>> record_accumulator::expire(
    steady_clock::time_point created_before) {
    std::vector<std::unique_ptr<producer_batch>> out;
    for (auto it = queues_.begin(); it != queues_.end();) {
        queue& q = it->second;
        for (auto b = q.begin(); b != q.end();) {
            if ((*b)->created <= created_before) {
                out.push_back(std::move(*b));
                b = q.erase(b);
            } else {
                ++b;
            }
        }
        it = q.empty() ? queues_.erase(it) : std::next(it);
    }
    return out;
}

std::vector<std::unique_ptr<producer_batch>> record_accumulator::take_all() {
    std::vector<std::unique_ptr<producer_batch>> out;
    for (auto& [tp, q] : queues_) {
        for (auto& b : q) out.push_back(std::move(b));
    }
    queues_.clear();
    return out;
}

std::vector<topic_partition> record_accumulator::partitions() const {
    std::vector<topic_partition> out;
    out.reserve(queues_.size());
    for (const auto& [tp, q] : queues_) out.push_back(tp);
    return out;
}

size_t record_accumulator::batch_count() const noexcept {
    size_t n = 0;
    for (const auto& [tp, q] : queues_) n += q.size();
    return n;
}

}  // namespace gregor::client
