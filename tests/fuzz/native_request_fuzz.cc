// libFuzzer target over the native protocol's request decoder: any bytes as a request frame
// payload must decode to a value or an error, never crash, overread or allocate beyond the
// input's size; and whatever decodes must re-encode to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "protocol/native/messages.h"

namespace {

using namespace gregor::native;

template <typename Message>
void round_trip(std::span<std::byte> body, const request_header& h) {
    auto m = decode<Message>(body);
    if (!m) return;
    auto again = encode_request(static_cast<api_key>(h.api_key), h.api_version, h.correlation_id, *m);
    // The re-encoded frame is length + header + body: its body must equal the input body.
    const size_t prefix = 4 + kRequestHeaderSize;
    if (again.size() != prefix + body.size() ||
        std::memcmp(again.data() + prefix, body.data(), body.size()) != 0) {
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::vector<std::byte> payload(reinterpret_cast<const std::byte*>(data),
                                   reinterpret_cast<const std::byte*>(data) + size);
    auto h = decode_request_header(payload);
    if (!h) return 0;
    auto body = std::span(payload).subspan(kRequestHeaderSize);
    switch (static_cast<api_key>(h->api_key)) {
    case api_key::api_versions: round_trip<api_versions_request>(body, *h); break;
    case api_key::metadata: round_trip<metadata_request>(body, *h); break;
    case api_key::produce: round_trip<produce_request>(body, *h); break;
    case api_key::fetch: round_trip<fetch_request>(body, *h); break;
    case api_key::list_offsets: round_trip<list_offsets_request>(body, *h); break;
    case api_key::create_topics: round_trip<create_topics_request>(body, *h); break;
    case api_key::delete_topics: round_trip<delete_topics_request>(body, *h); break;
    case api_key::describe_configs: round_trip<describe_configs_request>(body, *h); break;
    case api_key::alter_configs: round_trip<alter_configs_request>(body, *h); break;
    case api_key::create_partitions: round_trip<create_partitions_request>(body, *h); break;
    case api_key::leader_and_isr: round_trip<leader_and_isr_request>(body, *h); break;
    case api_key::update_metadata: round_trip<update_metadata_request>(body, *h); break;
    case api_key::stop_replica: round_trip<stop_replica_request>(body, *h); break;
    case api_key::controlled_shutdown: round_trip<controlled_shutdown_request>(body, *h); break;
    case api_key::offset_for_leader_epoch: round_trip<offset_for_leader_epoch_request>(body, *h); break;
    case api_key::alter_partition_reassignments: round_trip<alter_partition_reassignments_request>(body, *h); break;
    case api_key::list_partition_reassignments: round_trip<list_partition_reassignments_request>(body, *h); break;
    }
    return 0;
}
