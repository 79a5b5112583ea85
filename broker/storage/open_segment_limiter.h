// Bounds how many sealed (non-active) segments keep their .log descriptor and indexes open,
// so that thousands of partitions with many segments do not need thousands of descriptors and
// index buffers at once. Segments register when they open their files; past the limit the
// least recently used one (clock / second-chance order) is told to release them and reopens
// lazily on its next read. Active segments are never registered.
// Thread-safe: any partition's owner thread may call it; its mutex guards only the ring, and
// released files are closed after the mutex is let go.
#pragma once

#include <cstddef>
#include <list>
#include <mutex>
#include <unordered_map>

namespace gregor::storage {

class log_segment;

class open_segment_limiter {
public:
    explicit open_segment_limiter(size_t max_open) : max_open_(max_open) {}

    // `s` has just opened its files. May release other segments' files (never `s`'s).
    void opened(log_segment* s);
    // `s` released its files or is being destroyed; it is forgotten.
    void forget(log_segment* s);

    size_t open_count() const;
    size_t max_open() const noexcept { return max_open_; }

private:
    const size_t max_open_;
    mutable std::mutex mu_;
    std::list<log_segment*> ring_;                                          // guarded by mu_
    std::unordered_map<log_segment*, std::list<log_segment*>::iterator> at_; // guarded by mu_
};

}  // namespace gregor::storage
