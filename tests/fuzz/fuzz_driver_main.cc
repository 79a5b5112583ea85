// Runs the fuzz target without libFuzzer (for compilers that lack it): valid request frames of
// every API, then a fixed number of seeded mutations of them (byte flips, truncations, random
// lengths). Exits non-zero only by crashing, which is what the target does on a bug.
// Usage: native_request_fuzz_driver [iterations] [seed]
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "protocol/native/messages.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

using namespace gregor::native;

template <typename M>
std::vector<uint8_t> payload_of(api_key k, const M& m) {
    auto f = encode_request(k, 0, 7, m);
    return {reinterpret_cast<const uint8_t*>(f.data()) + 4, reinterpret_cast<const uint8_t*>(f.data()) + f.size()};
}

std::vector<std::vector<uint8_t>> seeds() {
    std::vector<std::byte> records(80, std::byte{0x5A});
    metadata_request md;
    md.topics = std::vector<std::string>{"orders", "events"};
    produce_request pr;
    pr.topics.push_back({"orders", {{0, -1, records}, {1, 3, records}}});
    fetch_request fr;
    fr.topics.push_back({"orders", {{0, -1, 42, 1024}}});
    list_offsets_request lo;
    lo.topics.push_back({"orders", {{0, -2}, {1, 1700000000000}}});
    create_topics_request ct;
    ct.topics.push_back({"t", 3, 1, {{0, {1, 2}}}, {{"retention.ms", "1000"}}});
    delete_topics_request dt;
    dt.names = {"a", "b"};
    describe_configs_request dc;
    dc.resources.push_back({kResourceTopic, "t", std::vector<std::string>{"retention.ms"}});
    alter_configs_request ac;
    ac.resources.push_back({kResourceTopic, "t", {{"retention.ms", kConfigSet, "5"}}});
    create_partitions_request cp;
    cp.topics.push_back({"t", 6});
    const cluster_broker broker{1, "h", 9092, "r", {{"INTERNAL", "PLAINTEXT", "h", 9092}}};
    const cluster_partition partition{"t", "AAAAAAAAAAAAAAAAAAAAAA", 0, 1, 1, 2, {1, 2}, 3, {1, 2, 3}};
    leader_and_isr_request li{1, 2, true, {partition}, {broker}};
    update_metadata_request um{1, 2, false, {broker}, {partition}, {"gone"}};
    stop_replica_request sr{1, 2, true, {{"t", 0}}};
    alter_partition_reassignments_request ar;
    ar.topics.push_back({"t", {{0, {2, 3}}, {1, {3, 1, 2}}}});
    list_partition_reassignments_request lr;
    lr.topics = std::vector<list_partition_reassignments_request::topic>{{"t", {0, 1}}};
    return {payload_of(api_key::leader_and_isr, li), payload_of(api_key::update_metadata, um),
            payload_of(api_key::stop_replica, sr), payload_of(api_key::controlled_shutdown, controlled_shutdown_request{3}),
            payload_of(api_key::offset_for_leader_epoch,
                       offset_for_leader_epoch_request{2, {{"orders", {{0, 5, 4}}}}}),
            payload_of(api_key::api_versions, api_versions_request{}), payload_of(api_key::metadata, md),
            payload_of(api_key::produce, pr), payload_of(api_key::fetch, fr),
            payload_of(api_key::list_offsets, lo), payload_of(api_key::create_topics, ct),
            payload_of(api_key::delete_topics, dt), payload_of(api_key::describe_configs, dc),
            payload_of(api_key::alter_configs, ac), payload_of(api_key::create_partitions, cp),
            payload_of(api_key::alter_partition_reassignments, ar),
            payload_of(api_key::list_partition_reassignments, lr),
            payload_of(api_key::list_partition_reassignments, list_partition_reassignments_request{})};
}

}  // namespace

int main(int argc, char** argv) {
    const long iterations = argc > 1 ? std::atol(argv[1]) : 200000;
    const unsigned seed = argc > 2 ? static_cast<unsigned>(std::atol(argv[2])) : 20261125u;
    std::mt19937 rng(seed);
    const auto corpus = seeds();
    for (const auto& s : corpus) LLVMFuzzerTestOneInput(s.data(), s.size());
    for (long i = 0; i < iterations; ++i) {
        auto input = corpus[rng() % corpus.size()];
        switch (rng() % 4) {
        case 0:  // flip a few bytes
            for (int k = 0; k < 1 + static_cast<int>(rng() % 4) && !input.empty(); ++k) {
                input[rng() % input.size()] ^= static_cast<uint8_t>(1 + rng() % 255);
            }
            break;
        case 1:  // truncate
            input.resize(rng() % (input.size() + 1));
            break;
        case 2:  // a hostile length or count somewhere
            if (input.size() >= 4) {
                const size_t at = rng() % (input.size() - 3);
                const uint32_t v = rng();
                for (int b = 0; b < 4; ++b) input[at + b] = static_cast<uint8_t>(v >> (24 - 8 * b));
            }
            break;
        default:  // random bytes after a valid header
            input.resize(8 + rng() % 64);
            for (size_t b = 8; b < input.size(); ++b) input[b] = static_cast<uint8_t>(rng());
            break;
        }
        LLVMFuzzerTestOneInput(input.data(), input.size());
    }
    std::printf("native_request_fuzz_driver: %ld inputs, seed %u, no crash\n", iterations, seed);
    return 0;
}
