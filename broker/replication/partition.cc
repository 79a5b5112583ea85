#include "broker/replication/partition.h"

#include <algorithm>

namespace gregor::broker {

partition::partition(topic_partition id, std::shared_ptr<storage::log> log,
                     std::shared_ptr<event_loop::strand> strand)
    : id_(std::move(id)), log_(std::move(log)), strand_(std::move(strand)) {}

void partition::make_leader(int32_t epoch, std::vector<int32_t> replicas, std::vector<int32_t> isr) {
    if (epoch < leader_epoch_) return;
    leader_ = true;
    leader_epoch_ = epoch;
    replicas_ = std::move(replicas);
    isr_ = std::move(isr);
}

void partition::make_follower(int32_t epoch, int32_t leader, std::vector<int32_t> replicas,
                              std::vector<int32_t> isr) {
    if (epoch < leader_epoch_) return;
    leader_ = false;
    leader_id_ = leader;
    leader_epoch_ = epoch;
    replicas_ = std::move(replicas);
    isr_ = std::move(isr);
}

int64_t partition::high_watermark() const noexcept { return log_->log_end_offset(); }

result<storage::log::append_result> partition::append(std::span<std::byte> records) {
    if (!leader_) {
        return status(errc::not_leader_or_follower,
                      "broker is not the leader of " + id_.dir_name());
    }
    auto r = log_->append(records, leader_epoch_);
    if (!r) return r;
    auto woken = std::move(waiters_);
    waiters_.clear();
    for (auto& w : woken) {
        if (!w.owner.expired()) strand_->post(std::move(w.wake));
    }
    return r;
}

result<partition::read_result> partition::read(int64_t offset, int32_t max_bytes,
                                               int32_t current_leader_epoch) {
    if (!leader_) {
        return status(errc::not_leader_or_follower,
                      "broker is not the leader of " + id_.dir_name());
    }
    if (current_leader_epoch >= 0 && current_leader_epoch < leader_epoch_) {
        return status(errc::fenced_leader_epoch, "leader epoch " + std::to_string(current_leader_epoch) +
                                                     " is older than " + std::to_string(leader_epoch_));
    }
    if (current_leader_epoch > leader_epoch_) {
        return status(errc::unknown_leader_epoch, "leader epoch " + std::to_string(current_leader_epoch) +
                                                      " is newer than " + std::to_string(leader_epoch_));
    }
    if (max_bytes <= 0) return status(errc::invalid_fetch_size, "partition max bytes must be positive");
    const int64_t hw = high_watermark();
    if (offset > hw) {
        return status(errc::offset_out_of_range,
                      "fetch offset " + std::to_string(offset) + " is above the high watermark " +
                          std::to_string(hw));
    }
    auto r = log_->read(offset, static_cast<size_t>(max_bytes), hw);
    if (!r) return r.error();
    read_result out{{}, hw, r->log_start_offset};
    if (r->range.size > 0) {
        out.records.resize(r->range.size);
        auto n = r->range.file->read_at(r->range.position, out.records);
        if (!n) return n.error();
        out.records.resize(*n);
    }
    return out;
}

void partition::on_next_append(std::weak_ptr<void> owner, std::function<void()> wake) {
    std::erase_if(waiters_, [](const waiter& w) { return w.owner.expired(); });
    waiters_.push_back({std::move(owner), std::move(wake)});
}

}  // namespace gregor::broker
