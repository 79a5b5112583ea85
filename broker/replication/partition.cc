#include "broker/replication/partition.h"

#include <algorithm>

#include "common/clock.h"
#include "common/logger.h"

namespace gregor::broker {
namespace {

const std::shared_ptr<spdlog::logger>& logger() {
    static const auto l = logging::get("replication");
    return l;
}

bool contains(const std::vector<int32_t>& v, int32_t x) { return std::find(v.begin(), v.end(), x) != v.end(); }

std::string list(const std::vector<int32_t>& v) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
    return s + "]";
}

}  // namespace

partition::partition(topic_partition id, int32_t broker_id, std::shared_ptr<storage::log> log, event_loop& loop,
                     std::shared_ptr<event_loop::strand> strand, replication_settings settings)
    : id_(std::move(id)),
      broker_id_(broker_id),
      log_(std::move(log)),
      loop_(loop),
      strand_(std::move(strand)),
      settings_(std::move(settings)) {}

bool partition::newer_than_current(const leadership& s) const {
    if (stopped_) return false;
    if (s.leader_epoch != state_.leader_epoch) return s.leader_epoch > state_.leader_epoch;
    return s.zk_version >= state_.zk_version;
}

bool partition::make_leader(const leadership& s) {
    if (!newer_than_current(s)) return false;
    const bool new_leadership = !leader_ || s.leader_epoch != state_.leader_epoch;
    leader_ = true;
    state_ = s;
    pending_isr_.reset();
    ++generation_;
    if (new_leadership) {
        leader_epoch_start_offset_ = log_->log_end_offset();
        if (status st = log_->assign_epoch_start(s.leader_epoch, leader_epoch_start_offset_); !st.ok()) {
            logger()->error("{}: cannot record leader epoch {}: {}", id_.dir_name(), s.leader_epoch, st.message);
        }
        // Every ISR member gets a full lag interval from now to show up; the others must catch up.
        const int64_t now = monotonic_ms();
        followers_.clear();
        for (const int32_t r : state_.replicas) {
            if (r == broker_id_) continue;
            followers_[r].last_caught_up_ms = contains(state_.isr, r) ? now : 0;
        }
    }
    maybe_advance_high_watermark();
    return true;
}

bool partition::make_follower(const leadership& s) {
    if (!newer_than_current(s)) return false;
    leader_ = false;
    state_ = s;
    pending_isr_.reset();
    ++generation_;
    followers_.clear();
    fail_replication_waiters({errc::not_leader_or_follower,
                              "broker " + std::to_string(broker_id_) + " is no longer the leader of " + id_.dir_name()});
    return true;
}

void partition::stop() {
    stopped_ = true;
    leader_ = false;
    pending_isr_.reset();
    ++generation_;
    fail_replication_waiters({errc::not_leader_or_follower, "broker " + std::to_string(broker_id_) +
                                                                " no longer hosts " + id_.dir_name()});
}

status partition::check_leader(int32_t current_leader_epoch) const {
    if (!leader_) return {errc::not_leader_or_follower, "broker is not the leader of " + id_.dir_name()};
    if (current_leader_epoch >= 0 && current_leader_epoch < state_.leader_epoch) {
        return {errc::fenced_leader_epoch, "leader epoch " + std::to_string(current_leader_epoch) + " of " +
                                               id_.dir_name() + " is older than " +
                                               std::to_string(state_.leader_epoch)};
    }
    if (current_leader_epoch > state_.leader_epoch) {
        return {errc::unknown_leader_epoch, "leader epoch " + std::to_string(current_leader_epoch) + " of " +
                                                id_.dir_name() + " is newer than " +
                                                std::to_string(state_.leader_epoch)};
    }
    return {};
}

status partition::check_follower(int32_t leader_epoch) const {
    if (leader_ || stopped_ || leader_epoch != state_.leader_epoch) {
        return {errc::fenced_leader_epoch, id_.dir_name() + " is no longer a follower at leader epoch " +
                                               std::to_string(leader_epoch)};
    }
    return {};
}

result<storage::log::append_result> partition::append(std::span<std::byte> records, int32_t current_leader_epoch,
                                                      int16_t acks) {
    if (status s = check_leader(current_leader_epoch); !s.ok()) return s;
    const auto min_isr = static_cast<size_t>(log_->config().min_insync_replicas);
    if (acks == -1 && state_.isr.size() < min_isr) {
        return status(errc::not_enough_replicas, "the in-sync replicas of " + id_.dir_name() + " " +
                                                     list(state_.isr) + " are fewer than min.insync.replicas " +
                                                     std::to_string(min_isr));
    }
    auto r = log_->append(records, state_.leader_epoch);
    if (!r) return r;
    wake(/*replicas=*/true, /*consumers=*/false);
    maybe_advance_high_watermark();
    return r;
}

void partition::await_replication(int64_t required_offset, int64_t timeout_ms, std::function<void(status)> done) {
    if (!leader_) {
        return done({errc::not_leader_or_follower, "broker is no longer the leader of " + id_.dir_name()});
    }
    const uint64_t id = next_waiter_id_++;
    replication_waiters_.push_back({id, required_offset, std::move(done)});
    complete_replication_waiters();
    if (std::none_of(replication_waiters_.begin(), replication_waiters_.end(),
                     [id](const auto& w) { return w.id == id; })) {
        return;
    }
    loop_.run_after(
        std::chrono::milliseconds(timeout_ms),
        [weak = weak_from_this(), id] {
            auto self = weak.lock();
            if (!self) return;
            auto& ws = self->replication_waiters_;
            auto it = std::find_if(ws.begin(), ws.end(), [id](const auto& w) { return w.id == id; });
            if (it == ws.end()) return;
            auto done = std::move(it->done);
            ws.erase(it);
            done({errc::request_timed_out, "the in-sync replicas of " + self->id_.dir_name() +
                                               " did not all replicate the records in time"});
        },
        strand_);
}

void partition::complete_replication_waiters() {
    const int64_t hw = high_watermark();
    const auto min_isr = static_cast<size_t>(log_->config().min_insync_replicas);
    std::vector<std::function<void(status)>> ready;
    std::erase_if(replication_waiters_, [&](replication_waiter& w) {
        if (w.required_offset > hw) return false;
        ready.push_back(std::move(w.done));
        return true;
    });
    for (auto& done : ready) {
        if (state_.isr.size() < min_isr) {
            done({errc::not_enough_replicas_after_append,
                  "the records were written, but the in-sync replicas of " + id_.dir_name() + " " + list(state_.isr) +
                      " are now fewer than min.insync.replicas " + std::to_string(min_isr)});
        } else {
            done({});
        }
    }
}

void partition::fail_replication_waiters(const status& why) {
    auto waiting = std::move(replication_waiters_);
    replication_waiters_.clear();
    for (auto& w : waiting) w.done(why);
}

result<partition::read_result> partition::read(int64_t offset, int32_t max_bytes, int32_t current_leader_epoch,
                                               int32_t replica_id) {
    if (status s = check_leader(current_leader_epoch); !s.ok()) return s;
    const bool follower_fetch = replica_id >= 0;
    if (follower_fetch && (replica_id == broker_id_ || !contains(state_.replicas, replica_id))) {
        return status(errc::not_leader_or_follower, "broker " + std::to_string(replica_id) + " is not a replica of " +
                                                        id_.dir_name() + " " + list(state_.replicas));
    }
    if (max_bytes <= 0) return status(errc::invalid_fetch_size, "partition max bytes must be positive");
    const int64_t leo = log_->log_end_offset();
    if (offset > leo) {
        return status(errc::offset_out_of_range, "fetch offset " + std::to_string(offset) + " of " + id_.dir_name() +
                                                     " is above the log end offset " + std::to_string(leo));
    }
    const int64_t hw = high_watermark();
    if (!follower_fetch && offset >= hw) {
        // Between the high watermark and the log end (a new leader's high watermark may trail
        // the old one's for a moment): nothing is committed there yet, which is not an error.
        if (offset < log_->log_start_offset()) {
            return status(errc::offset_out_of_range, "fetch offset " + std::to_string(offset) + " of " +
                                                         id_.dir_name() + " is below the log start offset " +
                                                         std::to_string(log_->log_start_offset()));
        }
        return read_result{{}, hw, log_->log_start_offset()};
    }
    auto r = log_->read(offset, static_cast<size_t>(max_bytes), follower_fetch ? INT64_MAX : hw);
    if (!r) return r.error();
    if (follower_fetch) update_follower(replica_id, offset);
    read_result out{{}, high_watermark(), r->log_start_offset};
    if (r->range.size > 0) {
        out.records.resize(r->range.size);
        auto n = r->range.file->read_at(r->range.position, out.records);
        if (!n) return n.error();
        out.records.resize(*n);
    }
    return out;
}

void partition::update_follower(int32_t replica, int64_t fetch_offset) {
    auto& f = followers_[replica];
    const int64_t now = monotonic_ms();
    const int64_t leo = log_->log_end_offset();
    // Kafka's rule: caught up now if it has everything; else caught up as of its previous fetch
    // if it now has what the leader had then.
    if (fetch_offset >= leo) {
        f.last_caught_up_ms = now;
    } else if (f.leader_end_at_last_fetch >= 0 && fetch_offset >= f.leader_end_at_last_fetch) {
        f.last_caught_up_ms = std::max(f.last_caught_up_ms, f.last_fetch_ms);
    }
    f.log_end_offset = fetch_offset;
    f.last_fetch_ms = now;
    f.leader_end_at_last_fetch = leo;
    maybe_expand_isr(replica);
    maybe_advance_high_watermark();
}

void partition::maybe_advance_high_watermark() {
    if (!leader_) return;
    int64_t hw = log_->log_end_offset();
    auto consider = [&](const std::vector<int32_t>& members) {
        for (const int32_t r : members) {
            if (r == broker_id_) continue;
            auto it = followers_.find(r);
            hw = std::min(hw, it == followers_.end() ? -1 : it->second.log_end_offset);
        }
    };
    consider(state_.isr);
    if (pending_isr_) consider(*pending_isr_);
    if (hw <= high_watermark()) return;
    log_->set_high_watermark(hw);
    complete_replication_waiters();
    wake(/*replicas=*/false, /*consumers=*/true);
}

void partition::maybe_expand_isr(int32_t replica) {
    if (pending_isr_ || contains(state_.isr, replica)) return;
    const auto& f = followers_[replica];
    if (f.log_end_offset < high_watermark() || f.log_end_offset < leader_epoch_start_offset_) return;
    auto isr = state_.isr;
    isr.push_back(replica);
    propose_isr(std::move(isr), "caught up");
}

void partition::maybe_shrink_isr() {
    if (!leader_ || pending_isr_) return;
    const int64_t now = monotonic_ms();
    std::vector<int32_t> keep;
    for (const int32_t r : state_.isr) {
        const auto it = followers_.find(r);
        const bool lagging = r != broker_id_ && it != followers_.end() &&
                             now - it->second.last_caught_up_ms > settings_.replica_lag_time_max_ms;
        if (!lagging) keep.push_back(r);
    }
    if (keep.size() != state_.isr.size()) propose_isr(std::move(keep), "lagging more than replica.lag.time.max.ms");
}

void partition::propose_isr(std::vector<int32_t> isr, const char* why) {
    if (!settings_.write_isr) return;
    logger()->info("{}: ISR {} -> {} ({})", id_.dir_name(), list(state_.isr), list(isr), why);
    pending_isr_ = isr;
    coordination::partition_state s;
    s.leader = broker_id_;
    s.leader_epoch = state_.leader_epoch;
    s.isr = isr;
    s.controller_epoch = state_.controller_epoch;
    s.zk_version = state_.zk_version;
    settings_.write_isr(id_, s, [weak = weak_from_this(), generation = generation_, isr](result<int32_t> version) {
        auto self = weak.lock();
        if (!self) return;
        self->strand_->post([self, generation, isr, version = std::move(version)]() mutable {
            self->isr_written(generation, std::move(isr), std::move(version));
        });
    });
}

void partition::isr_written(uint64_t generation, std::vector<int32_t> isr, result<int32_t> version) {
    if (generation != generation_) return;  // a new leadership has superseded the proposal
    pending_isr_.reset();
    if (!version) {
        logger()->warn("{}: ISR change to {} not written: {}", id_.dir_name(), list(isr), version.error().message);
        return;
    }
    state_.isr = std::move(isr);
    state_.zk_version = *version;
    maybe_advance_high_watermark();
    // Waiters already past the high watermark may now meet min.insync.replicas, or not.
    complete_replication_waiters();
}

result<storage::log::epoch_end> partition::end_offset_for_epoch(int32_t current_leader_epoch, int32_t epoch) {
    if (status s = check_leader(current_leader_epoch); !s.ok()) return s;
    return log_->end_offset_for_epoch(epoch);
}

void partition::on_new_data(bool replica, int64_t offset, std::weak_ptr<void> owner, std::function<void()> wake) {
    if ((replica ? log_->log_end_offset() : high_watermark()) > offset) return strand_->post(std::move(wake));
    std::erase_if(data_waiters_, [](const data_waiter& w) { return w.owner.expired(); });
    data_waiters_.push_back({replica, std::move(owner), std::move(wake)});
}

void partition::wake(bool replicas, bool consumers) {
    std::vector<std::function<void()>> woken;
    std::erase_if(data_waiters_, [&](data_waiter& w) {
        if (w.owner.expired()) return true;
        if (!(w.replica ? replicas : consumers)) return false;
        woken.push_back(std::move(w.wake));
        return true;
    });
    for (auto& w : woken) strand_->post(std::move(w));
}

result<partition::follower_position> partition::position(int32_t leader_epoch) const {
    if (status s = check_follower(leader_epoch); !s.ok()) return s;
    return follower_position{log_->latest_epoch(), log_->log_end_offset()};
}

result<std::optional<int64_t>> partition::truncate_to_leader(int32_t leader_epoch, storage::log::epoch_end leader_end) {
    if (status s = check_follower(leader_epoch); !s.ok()) return s;
    const int64_t leo = log_->log_end_offset();
    int64_t target = leo;
    bool complete = true;
    if (leader_end.end_offset < 0) {
        // The leader knows nothing of our epochs: keep only what was committed.
        target = high_watermark();
    } else if (leader_end.epoch < 0) {
        target = std::min(leader_end.end_offset, leo);
    } else {
        const auto ours = log_->end_offset_for_epoch(leader_end.epoch);
        if (ours.epoch == leader_end.epoch || ours.epoch < 0) {
            target = std::min(leader_end.end_offset, ours.epoch < 0 ? leo : ours.end_offset);
        } else {
            // Our history differs before that epoch: cut back to where our last epoch at or
            // below it ends, then ask again about that one.
            target = std::min(leader_end.end_offset, ours.end_offset);
            complete = false;
        }
    }
    if (target < leo) {
        logger()->info("{}: truncating from {} to {} (leader epoch {} ends at {} on the leader)", id_.dir_name(), leo,
                       target, leader_end.epoch, leader_end.end_offset);
        if (status s = log_->truncate_to(target); !s.ok()) return s;
    }
    if (!complete) return std::optional<int64_t>{};
    return std::optional<int64_t>{log_->log_end_offset()};
}

result<int64_t> partition::append_from_leader(int32_t leader_epoch, std::span<std::byte> records,
                                              int64_t leader_high_watermark) {
    if (status s = check_follower(leader_epoch); !s.ok()) return s;
    if (!records.empty()) {
        auto r = log_->append_as_follower(records);
        if (!r) return r.error();
    }
    const int64_t leo = log_->log_end_offset();
    log_->set_high_watermark(std::min(leader_high_watermark, leo));
    return leo;
}

result<int64_t> partition::restart_at(int32_t leader_epoch, int64_t leader_log_start) {
    if (status s = check_follower(leader_epoch); !s.ok()) return s;
    logger()->warn("{}: fetch offset {} is below the leader's log start {}; starting over there", id_.dir_name(),
                   log_->log_end_offset(), leader_log_start);
    if (status s = log_->truncate_fully_and_start_at(leader_log_start); !s.ok()) return s;
    return leader_log_start;
}

}  // namespace gregor::broker
