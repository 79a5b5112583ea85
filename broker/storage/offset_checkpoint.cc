#include "broker/storage/offset_checkpoint.h"

#include <fstream>
#include <sstream>

#include "broker/storage/file_handle.h"
#include "common/wire.h"

namespace gregor::storage {

result<offset_map> read_offset_checkpoint(const std::filesystem::path& path) {
    std::ifstream in(path);
    if (!in) {
        std::error_code ec;
        if (!std::filesystem::exists(path, ec)) return offset_map{};
        return status(errc::kafka_storage_error, "cannot read " + path.string());
    }
    auto bad = [&](int line, const std::string& why) {
        return status(errc::corrupt_message,
                      path.string() + " line " + std::to_string(line) + ": " + why);
    };
    std::string line;
    if (!std::getline(in, line) || line != "0") return bad(1, "expected version 0");
    if (!std::getline(in, line)) return bad(2, "expected the entry count");
    size_t count = 0;
    try {
        size_t used = 0;
        count = std::stoul(line, &used);
        if (used != line.size()) return bad(2, "expected the entry count");
    } catch (const std::exception&) {
        return bad(2, "expected the entry count");
    }
    offset_map out;
    for (size_t i = 0; i < count; ++i) {
        const int n = static_cast<int>(i) + 3;
        if (!std::getline(in, line)) return bad(n, "missing entry");
        std::istringstream fields(line);
        topic_partition tp;
        int64_t offset = 0;
        std::string extra;
        if (!(fields >> tp.topic >> tp.partition >> offset) || (fields >> extra) || tp.partition < 0) {
            return bad(n, "expected '<topic> <partition> <offset>'");
        }
        out[tp] = offset;
    }
    return out;
}

status write_offset_checkpoint(const std::filesystem::path& path, const offset_map& offsets) {
    std::string text = "0\n" + std::to_string(offsets.size()) + "\n";
    for (const auto& [tp, offset] : offsets) {
        text += tp.topic + " " + std::to_string(tp.partition) + " " + std::to_string(offset) + "\n";
    }
    return write_file_atomically(path, wire::as_bytes(text));
}

}  // namespace gregor::storage
