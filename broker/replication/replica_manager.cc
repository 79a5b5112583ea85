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

// Runs `step(result, partition)` on each entry's partition strand and gathers the results into
// `done`; an entry whose partition is not hosted here is answered at once.
template <typename Result, typename Entry, typename TpOf, typename Step>
void fan_out(const replica_manager& rm, const std::vector<Entry>& entries, TpOf tp_of, Step step,
             std::function<void(std::vector<Result>)> done) {
    if (entries.empty()) return done({});
    auto g = std::make_shared<gather<Result>>(entries.size(), std::move(done));
    for (size_t i = 0; i < entries.size(); ++i) {
        const topic_partition& tp = tp_of(entries[i]);
        g->results[i].tp = tp;
        auto p = rm.get(tp);
        if (!p) {
            g->results[i].error = not_hosted(tp);
            g->finish_one();
            continue;
        }
        p->strand().post([g, i, p, step, e = entries[i]] {
            step(g->results[i], *p, e);
            g->finish_one();
        });
    }
}

}  // namespace

struct delayed_fetch {
    std::vector<replica_manager::fetch_entry> entries;
    int32_t replica_id = -1;
    int32_t max_wait_ms = 0;
    int32_t min_bytes = 1;
    int32_t max_bytes = 0;
    std::function<void(std::vector<replica_manager::fetch_result>)> done;
    std::atomic<bool> completed{false};  // the answer has been given
};

replica_manager::replica_manager(event_loop& loop, storage::log_manager& logs, replica_manager_options options)
    : loop_(loop), logs_(logs), options_(std::move(options)), fetchers_(options_.fetcher) {}

replica_manager::~replica_manager() {
    if (retention_timer_) retention_timer_->cancel();
    if (isr_timer_) isr_timer_->cancel();
    fetchers_.shutdown();
}

void replica_manager::shutdown() { fetchers_.shutdown(); }

result<std::shared_ptr<partition>> replica_manager::host(const topic_partition& tp, const storage::log_config& config) {
    if (auto p = get(tp)) return p;
    auto log = logs_.get_or_create(tp, config);
    if (!log) return log.error();
    std::unique_lock lock(mu_);
    auto& slot = partitions_[tp];
    if (!slot) {
        slot = std::make_shared<partition>(tp, options_.broker_id, *log, loop_, loop_.make_strand(),
                                           replication_settings{options_.replica_lag_time_max_ms, options_.write_isr});
    }
    return slot;
}

status replica_manager::become_leader(const topic_partition& tp, const leadership& s,
                                      const storage::log_config& config) {
    auto hosted = host(tp, config);
    if (!hosted) return hosted.error();
    auto p = *hosted;
    p->strand().post([this, p, s, config] {
        p->log()->set_config(config);
        if (!p->make_leader(s)) return;
        fetchers_.remove_partition(p->id());
        logger()->info("{}: leader at epoch {}, ISR {}", p->id().dir_name(), s.leader_epoch, s.isr.size());
    });
    return {};
}

status replica_manager::become_follower(const topic_partition& tp, const leadership& s,
                                        std::optional<client::broker_address> leader_address,
                                        const storage::log_config& config) {
    auto hosted = host(tp, config);
    if (!hosted) return hosted.error();
    auto p = *hosted;
    p->strand().post([this, p, s, leader_address = std::move(leader_address), config] {
        p->log()->set_config(config);
        if (!p->make_follower(s)) return;
        if (leader_address) {
            fetchers_.add_partition(s.leader, *leader_address, p, s.leader_epoch);
        } else {
            fetchers_.remove_partition(p->id());
        }
        logger()->info("{}: follower of broker {} at epoch {}", p->id().dir_name(), s.leader, s.leader_epoch);
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
    fetchers_.remove_partition(tp);
    auto finish = [this, p, tp, delete_log] {
        if (p) p->stop();
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

void replica_manager::produce(std::vector<produce_entry> entries, int16_t acks, int32_t timeout_ms,
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
        p->strand().post([g, i, p, records = e.records, epoch = e.current_leader_epoch, acks, timeout_ms] {
            auto r = p->append(records, epoch, acks);
            auto& out = g->results[i];
            if (!r) {
                out.error = r.error();
                return g->finish_one();
            }
            out.base_offset = r->base_offset;
            out.log_start_offset = r->log_start_offset;
            if (acks != -1) return g->finish_one();
            p->await_replication(r->last_offset + 1, std::max(timeout_ms, 0), [g, i](status s) {
                g->results[i].error = std::move(s);
                g->finish_one();
            });
        });
    }
}

void replica_manager::fetch(std::vector<fetch_entry> entries, int32_t replica_id, int32_t max_wait_ms,
                            int32_t min_bytes, int32_t max_bytes,
                            std::function<void(std::vector<fetch_result>)> done) {
    if (entries.empty()) return done({});
    auto f = std::make_shared<delayed_fetch>();
    f->entries = std::move(entries);
    f->replica_id = replica_id;
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
        p->strand().post([g, i, p, e, budget, replica = f->replica_id] {
            auto& out = g->results[i];
            const auto limit = static_cast<int32_t>(
                std::min<int64_t>(e.max_bytes, std::max<int64_t>(budget->load(), 1)));
            auto r = p->read(e.offset, limit, e.current_leader_epoch, replica);
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
    // Woken by new data in any of the partitions (partition::on_new_data), or by the deadline; whichever comes
    // first answers (`completed`), and the waiters of the others expire with `f`.
    auto again = [this, weak = std::weak_ptr<delayed_fetch>(f)] {
        if (auto live = weak.lock()) read_all(live, false);
    };
    for (const auto& e : f->entries) {
        if (auto p = get(e.tp)) {
            p->strand().post([p, replica = f->replica_id >= 0, offset = e.offset, weak = std::weak_ptr<void>(f), again] {
                p->on_new_data(replica, offset, weak, again);
            });
        }
    }
    loop_.run_after(std::chrono::milliseconds(f->max_wait_ms), [this, f] { read_all(f, false); });
}

void replica_manager::list_offsets(std::vector<std::pair<topic_partition, int64_t>> entries,
                                   std::function<void(std::vector<list_offsets_result>)> done) {
    fan_out<list_offsets_result>(
        *this, entries, [](const auto& e) -> const topic_partition& { return e.first; },
        [](list_offsets_result& out, partition& p, const std::pair<topic_partition, int64_t>& e) {
            const int64_t ts = e.second;
            if (!p.is_leader()) {
                out.error = {errc::not_leader_or_follower, "broker is not the leader of " + p.id().dir_name()};
            } else if (ts == -2) {
                out.offset = p.log()->log_start_offset();
            } else if (ts == -1) {
                out.offset = p.high_watermark();
            } else {
                auto r = p.log()->offset_for_timestamp(ts);
                if (!r) {
                    out.error = r.error();
                } else if (*r && (*r)->offset < p.high_watermark()) {
                    out.timestamp = (*r)->timestamp;
                    out.offset = (*r)->offset;
                }
            }
        },
        std::move(done));
}

void replica_manager::offsets_for_leader_epoch(std::vector<epoch_entry> entries,
                                               std::function<void(std::vector<epoch_result>)> done) {
    fan_out<epoch_result>(
        *this, entries, [](const epoch_entry& e) -> const topic_partition& { return e.tp; },
        [](epoch_result& out, partition& p, const epoch_entry& e) {
            auto r = p.end_offset_for_epoch(e.current_leader_epoch, e.leader_epoch);
            if (r) {
                out.end = *r;
            } else {
                out.error = r.error();
            }
        },
        std::move(done));
}

void replica_manager::start_retention(int64_t interval_ms) { retention_pass(interval_ms); }

void replica_manager::start_isr_expiration() { isr_expiration_pass(); }

void replica_manager::isr_expiration_pass() {
    std::weak_ptr<bool> alive = alive_;
    const auto interval = std::chrono::milliseconds(std::max<int64_t>(options_.replica_lag_time_max_ms / 2, 1));
    isr_timer_ = loop_.run_after(interval, [this, alive] {
        if (!alive.lock()) return;
        std::vector<std::shared_ptr<partition>> all;
        {
            std::shared_lock lock(mu_);
            for (const auto& [_, p] : partitions_) all.push_back(p);
        }
        for (auto& p : all) p->strand().post([p] { p->maybe_shrink_isr(); });
        isr_expiration_pass();
    });
}

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
