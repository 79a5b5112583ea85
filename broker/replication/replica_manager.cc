#include "broker/replication/replica_manager.h"

#include <atomic>
#include <mutex>

#include "common/logger.h"

namespace gregor::broker {
namespace {

const std::shared_ptr<spdlog::logger>& logger() {
    static const auto l = logging::get("replication");
    return l;
}

status not_hosted(const topic_partition& tp) {
    return {errc::unknown_topic_or_partition, "this broker does not host " + tp.dir_name()};
}

// Results of a fan-out: each partition fills its slot, and the last to finish calls `done`.
template <typename Result>
struct gather : std::enable_shared_from_this<gather<Result>> {
    std::vector<Result> results;
    std::atomic<size_t> remaining;
    std::function<void(std::vector<Result>)> done;
    gather(size_t n, std::function<void(std::vector<Result>)> d)
        : results(n), remaining(n), done(std::move(d)) {}
    void finish_one() {
        if (remaining.fetch_sub(1) == 1) done(std::move(results));
    }
};

}  // namespace

struct delayed_fetch {
    std::vector<replica_manager::fetch_entry> entries;
    int32_t max_wait_ms = 0;
    int32_t min_bytes = 1;
    int32_t max_bytes = 0;
    std::function<void(std::vector<replica_manager::fetch_result>)> done;
    std::atomic<bool> completed{false};  // the answer has been given
};

replica_manager::replica_manager(event_loop& loop, storage::log_manager& logs, int32_t broker_id)
    : loop_(loop), logs_(logs), broker_id_(broker_id) {}

replica_manager::~replica_manager() {
    if (retention_timer_) retention_timer_->cancel();
}

result<std::shared_ptr<partition>> replica_manager::host(const topic_partition& tp, const storage::log_config& config) {
    if (auto p = get(tp)) return p;
    auto log = logs_.get_or_create(tp, config);
    if (!log) return log.error();
    std::unique_lock lock(mu_);
    auto& slot = partitions_[tp];
    if (!slot) slot = std::make_shared<partition>(tp, *log, loop_.make_strand());
    return slot;
}

status replica_manager::become_leader(const topic_partition& tp, int32_t leader_epoch,
                                      std::vector<int32_t> replicas, std::vector<int32_t> isr,
                                      const storage::log_config& config) {
    auto hosted = host(tp, config);
    if (!hosted) return hosted.error();
    auto p = *hosted;
    p->strand().post([p, leader_epoch, replicas = std::move(replicas), isr = std::move(isr), config]() mutable {
        p->log()->set_config(config);
        p->make_leader(leader_epoch, std::move(replicas), std::move(isr));
        logger()->info("{}: leader at epoch {}", p->id().dir_name(), leader_epoch);
    });
    return {};
}

status replica_manager::become_follower(const topic_partition& tp, int32_t leader_epoch, int32_t leader,
                                        std::vector<int32_t> replicas, std::vector<int32_t> isr,
                                        const storage::log_config& config) {
    auto hosted = host(tp, config);
    if (!hosted) return hosted.error();
    auto p = *hosted;
    p->strand().post([p, leader_epoch, leader, replicas = std::move(replicas), isr = std::move(isr), config]() mutable {
        p->log()->set_config(config);
        p->make_follower(leader_epoch, leader, std::move(replicas), std::move(isr));
        logger()->info("{}: follower of broker {} at epoch {}", p->id().dir_name(), leader, leader_epoch);
    });
    return {};
}

void replica_manager::stop_replica(const topic_partition& tp, bool delete_log) {
    std::shared_ptr<partition> p;
    {
        std::unique_lock lock(mu_);
        auto it = partitions_.find(tp);
        if (it != partitions_.end()) {
            p = it->second;
            partitions_.erase(it);
        }
    }
    auto finish = [this, tp, delete_log] {
        if (!delete_log) return;
        if (status s = logs_.delete_log(tp); !s.ok() && s.code != errc::unknown_topic_or_partition) {
            logger()->error("deleting the log of {} failed: {}", tp.dir_name(), s.message);
        }
    };
    // Deleting on the partition's strand orders it after every append already queued there.
    if (p) {
        p->strand().post(finish);
    } else {
        finish();
    }
}

void replica_manager::update_topic_config(const std::string& topic, const storage::log_config& config) {
    std::shared_lock lock(mu_);
    for (auto it = partitions_.lower_bound({topic, 0}); it != partitions_.end() && it->first.topic == topic; ++it) {
        auto p = it->second;
        p->strand().post([p, config] { p->log()->set_config(config); });
    }
}

std::shared_ptr<partition> replica_manager::get(const topic_partition& tp) const {
    std::shared_lock lock(mu_);
    auto it = partitions_.find(tp);
    return it == partitions_.end() ? nullptr : it->second;
}

std::vector<topic_partition> replica_manager::hosted() const {
    std::shared_lock lock(mu_);
    std::vector<topic_partition> out;
    for (const auto& [tp, _] : partitions_) out.push_back(tp);
    return out;
}

void replica_manager::produce(std::vector<produce_entry> entries, int16_t acks,
                              std::function<void(std::vector<produce_result>)> done) {
    if (entries.empty()) return done({});
    auto g = std::make_shared<gather<produce_result>>(entries.size(), std::move(done));
    for (size_t i = 0; i < entries.size(); ++i) {
        auto& e = entries[i];
        g->results[i].tp = e.tp;
        if (acks != 0 && acks != 1 && acks != -1) {
            g->results[i].error = {errc::invalid_required_acks, "acks must be -1, 0 or 1, not " + std::to_string(acks)};
            g->finish_one();
            continue;
        }
        auto p = get(e.tp);
        if (!p) {
            g->results[i].error = not_hosted(e.tp);
            g->finish_one();
            continue;
        }
        p->strand().post([g, i, p, records = e.records] {
            auto r = p->append(records);
            auto& out = g->results[i];
            if (r) {
                out.base_offset = r->base_offset;
                out.log_start_offset = r->log_start_offset;
            } else {
                out.error = r.error();
            }
            g->finish_one();
        });
    }
}

void replica_manager::fetch(std::vector<fetch_entry> entries, int32_t max_wait_ms, int32_t min_bytes,
                            int32_t max_bytes, std::function<void(std::vector<fetch_result>)> done) {
    if (entries.empty()) return done({});
    auto f = std::make_shared<delayed_fetch>();
    f->entries = std::move(entries);
    f->max_wait_ms = max_wait_ms;
    f->min_bytes = min_bytes;
    f->max_bytes = max_bytes;
    f->done = std::move(done);
    read_all(f, true);
}

void replica_manager::read_all(const std::shared_ptr<delayed_fetch>& f, bool first_pass) {
    if (f->completed) return;
    auto g = std::make_shared<gather<fetch_result>>(
        f->entries.size(), [this, f, first_pass](std::vector<fetch_result> r) {
            size_t bytes = 0;
            bool any_error = false;
            for (const auto& x : r) {
                bytes += x.records.size();
                any_error = any_error || !x.error.ok();
            }
            const bool enough = any_error || static_cast<int64_t>(bytes) >= f->min_bytes;
            if (first_pass && !enough && f->max_wait_ms > 0) return wait_for_data(f);
            if (!f->completed.exchange(true)) f->done(std::move(r));
        });
    // The response's max_bytes is shared out in partition order as reads complete; every
    // partition may still return one whole batch, as Kafka does.
    auto budget = std::make_shared<std::atomic<int64_t>>(f->max_bytes);
    for (size_t i = 0; i < f->entries.size(); ++i) {
        const fetch_entry& e = f->entries[i];
        g->results[i].tp = e.tp;
        auto p = get(e.tp);
        if (!p) {
            g->results[i].error = not_hosted(e.tp);
            g->finish_one();
            continue;
        }
        p->strand().post([g, i, p, e, budget] {
            auto& out = g->results[i];
            const auto limit = static_cast<int32_t>(
                std::min<int64_t>(e.max_bytes, std::max<int64_t>(budget->load(), 1)));
            auto r = p->read(e.offset, limit, e.current_leader_epoch);
            out.high_watermark = p->high_watermark();
            out.log_start_offset = p->log()->log_start_offset();
            if (r) {
                budget->fetch_sub(static_cast<int64_t>(r->records.size()));
                out.records = std::move(r->records);
            } else {
                out.error = r.error();
            }
            g->finish_one();
        });
    }
}

void replica_manager::wait_for_data(const std::shared_ptr<delayed_fetch>& f) {
    // Woken by the next append to any of the partitions, or by the deadline; whichever comes
    // first answers (`completed`), and the waiters of the others expire with `f`.
    auto again = [this, weak = std::weak_ptr<delayed_fetch>(f)] {
        if (auto live = weak.lock()) read_all(live, false);
    };
    for (const auto& e : f->entries) {
        if (auto p = get(e.tp)) {
            p->strand().post([p, weak = std::weak_ptr<void>(f), again] { p->on_next_append(weak, again); });
        }
    }
    loop_.run_after(std::chrono::milliseconds(f->max_wait_ms), [this, f] { read_all(f, false); });
}

void replica_manager::list_offsets(std::vector<std::pair<topic_partition, int64_t>> entries,
                                   std::function<void(std::vector<list_offsets_result>)> done) {
    if (entries.empty()) return done({});
    auto g = std::make_shared<gather<list_offsets_result>>(entries.size(), std::move(done));
    for (size_t i = 0; i < entries.size(); ++i) {
        const auto [tp, ts] = entries[i];
        g->results[i].tp = tp;
        auto p = get(tp);
        if (!p) {
            g->results[i].error = not_hosted(tp);
            g->finish_one();
            continue;
        }
        p->strand().post([g, i, p, ts] {
            auto& out = g->results[i];
            if (!p->is_leader()) {
                out.error = {errc::not_leader_or_follower, "broker is not the leader of " + p->id().dir_name()};
            } else if (ts == -2) {
                out.offset = p->log()->log_start_offset();
            } else if (ts == -1) {
                out.offset = p->high_watermark();
            } else {
                auto r = p->log()->offset_for_timestamp(ts);
                if (!r) {
                    out.error = r.error();
                } else if (*r && (*r)->offset < p->high_watermark()) {
                    out.timestamp = (*r)->timestamp;
                    out.offset = (*r)->offset;
                }
            }
            g->finish_one();
        });
    }
}

void replica_manager::start_retention(int64_t interval_ms) { retention_pass(interval_ms); }

void replica_manager::retention_pass(int64_t interval_ms) {
    std::weak_ptr<bool> alive = alive_;
    retention_timer_ = loop_.run_after(std::chrono::milliseconds(interval_ms), [this, alive, interval_ms] {
        if (!alive.lock()) return;
        std::vector<std::shared_ptr<partition>> all;
        {
            std::shared_lock lock(mu_);
            for (const auto& [_, p] : partitions_) all.push_back(p);
        }
        for (auto& p : all) {
            p->strand().post([p] {
                if (auto r = p->log()->delete_retained_segments(); !r.ok()) {
                    logger()->warn("retention on {} failed: {}", p->id().dir_name(), r.error().message);
                }
            });
        }
        retention_pass(interval_ms);
    });
}

}  // namespace gregor::broker
