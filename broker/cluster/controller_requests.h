// The controller's requests (coordination/controller_channel.h) as native protocol messages
// (docs/protocol.md, APIs 10-12) and back. Pure functions: any thread.
#pragma once

#include "coordination/controller_channel.h"
#include "protocol/native/messages.h"

namespace gregor::broker {

native::leader_and_isr_request to_native(const coordination::leader_and_isr_request& r);
native::update_metadata_request to_native(const coordination::metadata_update& u);
native::stop_replica_request to_native(const coordination::stop_replica_request& r);

coordination::leader_and_isr_request from_native(const native::leader_and_isr_request& r);
coordination::metadata_update from_native(const native::update_metadata_request& u);
coordination::stop_replica_request from_native(const native::stop_replica_request& r);

}  // namespace gregor::broker
