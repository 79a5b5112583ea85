// How the controller changes a partition's leader and ISR, as ZK-mode Kafka's partition state
// machine and PartitionLeaderElectionAlgorithms do. Each function takes the partition's
// replica list (preferred leader first) and current state, and returns the state to write, or
// nullopt when nothing changes. A returned state carries the input's zk_version (the write is
// conditional on it) and, when the leader or the ISR changes, leader_epoch + 1; the caller sets
// controller_epoch. Pure functions: safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <vector>

#include "coordination/cluster_model.h"

namespace gregor::coordination {

using broker_set = std::set<int32_t>;

// A new partition: the live replicas in assignment order form the ISR and the first leads,
// with leader_epoch 0. nullopt if no replica is live (the partition waits for one).
std::optional<partition_state> initial_state(const std::vector<int32_t>& replicas, const broker_set& live);

// Brings a partition in line with the live brokers:
//  - leader live: dead brokers leave the ISR (the leader stays in it);
//  - leader dead or none: the first replica that is live and in the ISR leads, the ISR keeps
//    its live members; with `unclean`, failing that, the first live replica leads alone. If
//    nobody can lead, the partition goes offline (leader -1) and keeps its last ISR, so the
//    broker that returns from it can lead again without losing data.
std::optional<partition_state> reconcile_with_live_brokers(const std::vector<int32_t>& replicas,
                                                           const partition_state& current, const broker_set& live,
                                                           bool unclean);

// Controlled shutdown of `shutting_down`: a partition it leads moves to the first replica that
// is live, in the ISR and not shutting down (else it stays, and the broker is told it still
// leads it); the shutting-down brokers leave ISRs they share with others.
std::optional<partition_state> move_for_shutdown(const std::vector<int32_t>& replicas,
                                                 const partition_state& current, const broker_set& live,
                                                 const broker_set& shutting_down);

// Preferred-leader election: the first replica leads again if it is live and in the ISR.
std::optional<partition_state> restore_preferred_leader(const std::vector<int32_t>& replicas,
                                                        const partition_state& current, const broker_set& live);

// True when `after` names a leader that was not in `before`'s ISR: an unclean election, which
// may lose records the old ISR had acknowledged.
bool is_unclean_election(const partition_state& before, const partition_state& after);

// The end of a reassignment to `target`, once every target replica is in the ISR: the leader
// stays if it is a live target replica, else the first target replica that is live and in the
// ISR leads; the ISR keeps only target replicas; leader_epoch + 1 in any case, so that every
// replica takes the new replica list. nullopt while a target replica is missing from the ISR
// or no target replica can lead.
std::optional<partition_state> complete_reassignment(const std::vector<int32_t>& target,
                                                     const partition_state& current, const broker_set& live);

}  // namespace gregor::coordination
