// The native protocol's request handler (docs/protocol.md): decodes each request, calls the
// core (replica_manager, metadata_cache, topic_admin) and encodes the response. A thin adapter:
// no core class knows which protocol asked. A request that cannot be parsed gets a
// request-level error response and the connection is closed; an unknown API or version gets an
// error response and the connection stays open. One handler per listener: Metadata answers
// with each broker's endpoint on the listener the request arrived on, as Kafka does.
// handle() may be called from any thread; the referenced objects must outlive the handler.
#pragma once

#include "broker/broker_config.h"
#include "broker/cluster/inter_broker_requests.h"
#include "broker/metadata_cache.h"
#include "broker/net/request_handler.h"
#include "broker/replication/replica_manager.h"
#include "broker/topic_admin.h"
#include "common/properties.h"

namespace gregor::broker {

class native_handler final : public net::request_handler {
public:
    // `listener_name`: the listener (a name from broker_config::listeners) this handler serves.
    native_handler(std::string listener_name, const broker_config& config, const properties& broker_properties,
                   metadata_cache& metadata, replica_manager& replicas, topic_admin& admin,
                   inter_broker_requests& inter_broker);

    void handle(std::vector<std::byte> payload, std::function<void(net::response)> respond) override;

private:
    struct context;
    void api_versions(const std::shared_ptr<context>& c);
    void metadata(const std::shared_ptr<context>& c);
    void produce(const std::shared_ptr<context>& c);
    void fetch(const std::shared_ptr<context>& c);
    void list_offsets(const std::shared_ptr<context>& c);
    void create_topics(const std::shared_ptr<context>& c);
    void delete_topics(const std::shared_ptr<context>& c);
    void describe_configs(const std::shared_ptr<context>& c);
    void alter_configs(const std::shared_ptr<context>& c);
    void create_partitions(const std::shared_ptr<context>& c);
    void leader_and_isr(const std::shared_ptr<context>& c);
    void update_metadata(const std::shared_ptr<context>& c);
    void stop_replica(const std::shared_ptr<context>& c);
    void controlled_shutdown(const std::shared_ptr<context>& c);
    void offset_for_leader_epoch(const std::shared_ptr<context>& c);
    void alter_partition_reassignments(const std::shared_ptr<context>& c);
    void list_partition_reassignments(const std::shared_ptr<context>& c);

    // Creates `topic` with the broker defaults when auto.create.topics.enable allows.
    void maybe_auto_create(const std::string& topic);
    // Why a partition is not served here: unknown topic or not the leader.
    status routing_error(const topic_partition& tp) const;

    const std::string listener_name_;
    const broker_config& config_;
    const properties& broker_properties_;
    metadata_cache& metadata_;
    replica_manager& replicas_;
    topic_admin& admin_;
    inter_broker_requests& inter_broker_;
};

}  // namespace gregor::broker
