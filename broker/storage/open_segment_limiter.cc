#include "broker/storage/open_segment_limiter.h"

#include <memory>
#include <vector>

#include "broker/storage/log_segment.h"

namespace gregor::storage {

void open_segment_limiter::opened(log_segment* s) {
    std::vector<std::shared_ptr<void>> released;  // closed after the lock is let go
    {
        std::lock_guard lock(mu_);
        if (at_.contains(s)) return;
        at_[s] = ring_.insert(ring_.end(), s);
        // Second chance: a segment read since the last sweep moves to the back once.
        size_t budget = 2 * ring_.size();
        while (ring_.size() > max_open_ && budget-- > 0) {
            log_segment* victim = ring_.front();
            ring_.pop_front();
            if (victim == s || victim->recently_used().exchange(false)) {
                at_[victim] = ring_.insert(ring_.end(), victim);
                continue;
            }
            at_.erase(victim);
            released.push_back(victim->release_files());
        }
    }
}

void open_segment_limiter::forget(log_segment* s) {
    std::lock_guard lock(mu_);
    auto it = at_.find(s);
    if (it == at_.end()) return;
    ring_.erase(it->second);
    at_.erase(it);
}

size_t open_segment_limiter::open_count() const {
    std::lock_guard lock(mu_);
    return ring_.size();
}

}  // namespace gregor::storage
