// The native protocol's request handler (docs/protocol.md): decodes each request, calls the
// core (replica_manager, metadata_cache, topic_admin) and encodes the response. A thin adapter:
// no core class knows which protocol asked. A request that cannot be parsed gets a
// request-level error response and the connection is closed; an unknown API or version gets an
// error response and the connection stays open.
// handle() may be called from any thread; the referenced objects must outlive the handler.
#pragma once

#include "broker/broker_config.h"
#include "broker/metadata_cache.h"
#include "broker/net/request_handler.h"
#include "broker/replication/replica_manager.h"
#include "broker/topic_admin.h"
#include "common/properties.h"

namespace gregor::broker {

class native_handler final : public net::request_handler {
public:
    native_handler(const broker_config& config, const properties& broker_properties,
                   metadata_cache& metadata, replica_manager& replicas, topic_admin& admin);

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

    // Creates `topic` with the broker defaults when auto.create.topics.enable allows.
    void maybe_auto_create(const std::string& topic);
    // Why a partition is not served here: unknown topic or not the leader.
    status routing_error(const topic_partition& tp) const;

    const broker_config& config_;
    const properties& broker_properties_;
    metadata_cache& metadata_;
    replica_manager& replicas_;
    topic_admin& admin_;
};

}  // namespace gregor::broker
