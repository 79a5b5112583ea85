#include "broker/cluster/controller_requests.h"

namespace gregor::broker {
namespace {

native::cluster_broker to_native(const coordination::broker_info& b) {
    native::cluster_broker out{b.id, b.host, b.port, b.rack, {}};
    for (const auto& e : b.endpoints) out.endpoints.push_back({e.listener, e.security_protocol, e.host, e.port});
    return out;
}

coordination::broker_info from_native(const native::cluster_broker& b) {
    coordination::broker_info out{b.id, b.host, b.port, b.rack, {}};
    for (const auto& e : b.endpoints) out.endpoints.push_back({e.listener, e.security_protocol, e.host, e.port});
    return out;
}

native::cluster_partition to_native(const coordination::partition_info& p) {
    return {p.tp.topic,          p.topic_id,          p.tp.partition, p.state.controller_epoch, p.state.leader,
            p.state.leader_epoch, p.state.isr,       p.state.zk_version, p.replicas};
}

coordination::partition_info from_native(const native::cluster_partition& p) {
    coordination::partition_info out;
    out.tp = {p.topic, p.partition};
    out.topic_id = p.topic_id;
    out.replicas = p.replicas;
    out.state = {p.leader, p.leader_epoch, p.isr, p.controller_epoch, p.zk_version};
    return out;
}

template <typename To, typename From, typename F>
std::vector<To> map_all(const std::vector<From>& in, F&& f) {
    std::vector<To> out;
    out.reserve(in.size());
    for (const auto& x : in) out.push_back(f(x));
    return out;
}

}  // namespace

native::leader_and_isr_request to_native(const coordination::leader_and_isr_request& r) {
    return {r.controller_id, r.controller_epoch, r.full,
            map_all<native::cluster_partition>(r.partitions, [](const auto& p) { return to_native(p); }),
            map_all<native::cluster_broker>(r.leaders, [](const auto& b) { return to_native(b); })};
}

native::update_metadata_request to_native(const coordination::metadata_update& u) {
    return {u.controller_id, u.controller_epoch, u.full,
            map_all<native::cluster_broker>(u.live_brokers, [](const auto& b) { return to_native(b); }),
            map_all<native::cluster_partition>(u.partitions, [](const auto& p) { return to_native(p); }),
            u.deleted_topics};
}

native::stop_replica_request to_native(const coordination::stop_replica_request& r) {
    return {r.controller_id, r.controller_epoch, r.delete_partitions,
            map_all<native::stop_replica_request::partition>(
                r.partitions, [](const topic_partition& tp) { return native::stop_replica_request::partition{tp.topic, tp.partition}; })};
}

coordination::leader_and_isr_request from_native(const native::leader_and_isr_request& r) {
    return {r.controller_id, r.controller_epoch, r.full,
            map_all<coordination::partition_info>(r.partitions, [](const auto& p) { return from_native(p); }),
            map_all<coordination::broker_info>(r.leaders, [](const auto& b) { return from_native(b); })};
}

coordination::metadata_update from_native(const native::update_metadata_request& u) {
    return {u.controller_id, u.controller_epoch,
            map_all<coordination::broker_info>(u.live_brokers, [](const auto& b) { return from_native(b); }), u.full,
            map_all<coordination::partition_info>(u.partitions, [](const auto& p) { return from_native(p); }),
            u.deleted_topics};
}

coordination::stop_replica_request from_native(const native::stop_replica_request& r) {
    return {r.controller_id, r.controller_epoch, r.delete_partitions,
            map_all<topic_partition>(r.partitions, [](const auto& p) { return topic_partition{p.topic, p.partition}; })};
}

}  // namespace gregor::broker
