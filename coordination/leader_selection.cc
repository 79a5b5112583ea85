#include "coordination/leader_selection.h"

#include <algorithm>

namespace gregor::coordination {
namespace {

bool contains(const std::vector<int32_t>& v, int32_t x) { return std::find(v.begin(), v.end(), x) != v.end(); }

std::vector<int32_t> keep_if(const std::vector<int32_t>& v, auto pred) {
    std::vector<int32_t> out;
    std::copy_if(v.begin(), v.end(), std::back_inserter(out), pred);
    return out;
}

// `next` with a bumped leader epoch if it differs from `current` in leader or ISR.
std::optional<partition_state> changed(const partition_state& current, int32_t leader, std::vector<int32_t> isr) {
    if (leader == current.leader && isr == current.isr) return std::nullopt;
    partition_state next = current;
    next.leader = leader;
    next.isr = std::move(isr);
    next.leader_epoch = current.leader_epoch + 1;
    return next;
}

}  // namespace

std::optional<partition_state> initial_state(const std::vector<int32_t>& replicas, const broker_set& live) {
    auto isr = keep_if(replicas, [&](int32_t r) { return live.contains(r); });
    if (isr.empty()) return std::nullopt;
    partition_state s;
    s.leader = isr.front();
    s.leader_epoch = 0;
    s.isr = std::move(isr);
    return s;
}

std::optional<partition_state> reconcile_with_live_brokers(const std::vector<int32_t>& replicas,
                                                           const partition_state& current, const broker_set& live,
                                                           bool unclean) {
    auto live_isr = keep_if(current.isr, [&](int32_t r) { return live.contains(r); });
    if (current.leader != kNoLeader && live.contains(current.leader)) {
        if (!contains(live_isr, current.leader)) live_isr.insert(live_isr.begin(), current.leader);
        return changed(current, current.leader, std::move(live_isr));
    }
    for (const int32_t r : replicas) {
        if (live.contains(r) && contains(current.isr, r)) return changed(current, r, std::move(live_isr));
    }
    if (unclean) {
        for (const int32_t r : replicas) {
            if (live.contains(r)) return changed(current, r, {r});
        }
    }
    return changed(current, kNoLeader, current.isr);
}

std::optional<partition_state> move_for_shutdown(const std::vector<int32_t>& replicas,
                                                 const partition_state& current, const broker_set& live,
                                                 const broker_set& shutting_down) {
    auto remaining = keep_if(current.isr, [&](int32_t r) { return !shutting_down.contains(r); });
    if (shutting_down.contains(current.leader)) {
        for (const int32_t r : replicas) {
            if (live.contains(r) && !shutting_down.contains(r) && contains(current.isr, r)) {
                return changed(current, r, std::move(remaining));
            }
        }
        return std::nullopt;
    }
    if (remaining.empty()) return std::nullopt;  // never empty an ISR
    return changed(current, current.leader, std::move(remaining));
}

std::optional<partition_state> restore_preferred_leader(const std::vector<int32_t>& replicas,
                                                        const partition_state& current, const broker_set& live) {
    if (replicas.empty()) return std::nullopt;
    const int32_t preferred = replicas.front();
    if (preferred == current.leader || !live.contains(preferred) || !contains(current.isr, preferred)) {
        return std::nullopt;
    }
    return changed(current, preferred, current.isr);
}

bool is_unclean_election(const partition_state& before, const partition_state& after) {
    return after.leader != kNoLeader && after.leader != before.leader && !contains(before.isr, after.leader);
}

std::optional<partition_state> complete_reassignment(const std::vector<int32_t>& target,
                                                     const partition_state& current, const broker_set& live) {
    if (!std::all_of(target.begin(), target.end(), [&](int32_t r) { return contains(current.isr, r); })) {
        return std::nullopt;
    }
    int32_t leader = kNoLeader;
    if (contains(target, current.leader) && live.contains(current.leader)) {
        leader = current.leader;
    } else {
        for (const int32_t r : target) {
            if (live.contains(r)) {
                leader = r;
                break;
            }
        }
    }
    if (leader == kNoLeader) return std::nullopt;
    partition_state next = current;
    next.leader = leader;
    next.isr = keep_if(current.isr, [&](int32_t r) { return contains(target, r); });
    next.leader_epoch = current.leader_epoch + 1;
    return next;
}

}  // namespace gregor::coordination
