#include "broker/replication/replica_fetcher_manager.h"

#include <algorithm>
#include <map>

#include "broker/replication/partition.h"
#include "client/connection.h"
#include "client/event_loop.h"
#include "common/clock.h"
#include "common/logger.h"

namespace gregor::broker {
namespace {

const std::shared_ptr<spdlog::logger>& logger() {
    static const auto l = logging::get("replica.fetcher");
    return l;
}

bool stale(const status& s) { return s.code == errc::fenced_leader_epoch; }

}  // namespace

struct replica_fetcher_manager::impl : std::enable_shared_from_this<impl> {
    struct fetch_state {
        std::shared_ptr<partition> p;
        int32_t leader_epoch = -1;
        bool truncating = true;
        int64_t fetch_offset = 0;
        int64_t delayed_until_ms = 0;  // monotonic; after a refusal
    };
    struct fetcher {
        int32_t leader = -1;
        client::broker_address address;
        std::shared_ptr<client::connection> conn;
        std::map<topic_partition, fetch_state> partitions;
        bool busy = false;     // a round is in flight
        bool stopped = false;  // no partitions left, or the leader moved
        bool failing = false;  // the last request failed; logged once per streak
        std::shared_ptr<client::event_loop::timer> timer;
    };
    // Results of one round's per-partition steps, gathered on the fetcher's thread.
    struct round {
        size_t remaining = 0;
        std::function<void()> done;
        void finish_one() {
            if (--remaining == 0) done();
        }
    };

    fetcher_options options;
    client::event_loop loop;
    std::map<int32_t, std::shared_ptr<fetcher>> fetchers;  // by leader; loop thread only
    std::map<topic_partition, int32_t> leader_of;          // loop thread only

    explicit impl(fetcher_options o) : options(o) {}

    client::connection_options connection_options() const {
        client::connection_options c;
        c.connect_timeout = options.socket_timeout;
        c.request_timeout = options.socket_timeout;
        return c;
    }

    // A strand task's result, handed back to the fetcher's thread (dropped after shutdown).
    template <typename F>
    void on_loop(F&& f) {
        if (!loop.joined()) loop.post(std::forward<F>(f));
    }

    void add(int32_t leader, client::broker_address address, std::shared_ptr<partition> p, int32_t epoch) {
        const topic_partition tp = p->id();
        if (auto it = leader_of.find(tp); it != leader_of.end() && it->second != leader) remove(tp);
        auto& f = fetchers[leader];
        if (f && !(f->address == address)) {
            // The leader came back elsewhere: a request in flight fails with the old connection,
            // and the retry goes to the new address.
            logger()->info("broker {} moved to {}:{}", leader, address.host, address.port);
            f->address = address;
            if (f->conn) f->conn->close();
            f->conn.reset();
        }
        if (!f) {
            f = std::make_shared<fetcher>();
            f->leader = leader;
            f->address = std::move(address);
            logger()->info("fetching from broker {} at {}:{}", leader, f->address.host, f->address.port);
        }
        auto& st = f->partitions[tp];
        leader_of[tp] = leader;
        if (st.p == p && st.leader_epoch == epoch) return;
        st = fetch_state{std::move(p), epoch, true, 0, 0};
        kick(f);
    }

    void remove(const topic_partition& tp) {
        auto it = leader_of.find(tp);
        if (it == leader_of.end()) return;
        auto f = fetchers.find(it->second);
        leader_of.erase(it);
        if (f == fetchers.end()) return;
        f->second->partitions.erase(tp);
        if (f->second->partitions.empty()) {
            stop(*f->second);
            fetchers.erase(f);
        }
    }

    void stop(fetcher& f) {
        f.stopped = true;
        if (f.timer) f.timer->cancel();
        if (f.conn) f.conn->close();
        for (const auto& [tp, _] : f.partitions) leader_of.erase(tp);
    }

    void stop_all() {
        for (auto& [_, f] : fetchers) stop(*f);
        fetchers.clear();
    }

    // Starts the next round unless one is running; waits out refusals' backoff.
    void kick(const std::shared_ptr<fetcher>& f) {
        if (f->busy || f->stopped || f->partitions.empty()) return;
        const int64_t now = monotonic_ms();
        int64_t next_ready = INT64_MAX;
        bool truncation = false;
        bool fetchable = false;
        for (const auto& [_, st] : f->partitions) {
            if (st.delayed_until_ms > now) {
                next_ready = std::min(next_ready, st.delayed_until_ms);
                continue;
            }
            (st.truncating ? truncation : fetchable) = true;
        }
        if (!truncation && !fetchable) {
            wait_then_kick(f, std::chrono::milliseconds(next_ready - now));
            return;
        }
        if (f->timer) f->timer->cancel();
        if (!f->conn || f->conn->closed()) f->conn = client::connection::create(loop, f->address, connection_options());
        f->busy = true;
        if (truncation) {
            truncation_round(f);
        } else {
            fetch_round(f);
        }
    }

    void wait_then_kick(const std::shared_ptr<fetcher>& f, std::chrono::milliseconds delay) {
        if (f->timer) f->timer->cancel();
        f->timer = loop.run_after(delay, [this, f] { kick(f); });
    }

    void round_done(const std::shared_ptr<fetcher>& f) {
        f->busy = false;
        kick(f);
    }

    // The connection failed or the answer did not parse: every partition waits, then all retry
    // on a new connection.
    void connection_failed(const std::shared_ptr<fetcher>& f, const char* api, const status& why) {
        if (!f->failing) {
            logger()->warn("{} to broker {} at {}:{} failed: {}; retrying every {} ms", api, f->leader, f->address.host,
                           f->address.port, why.message, options.backoff.count());
        }
        f->failing = true;
        if (f->conn) f->conn->close();
        f->conn.reset();
        f->busy = false;
        if (!f->stopped) wait_then_kick(f, options.backoff);
    }

    void back_off(fetch_state& st, const status& why) {
        logger()->debug("{}: the leader refused: {}", st.p->id().dir_name(), why.message);
        st.delayed_until_ms = monotonic_ms() + options.backoff.count();
    }

    // The state of `tp` in `f` if it is still the one a request was made for.
    fetch_state* current(fetcher& f, const topic_partition& tp, const std::shared_ptr<partition>& p, int32_t epoch) {
        if (f.stopped) return nullptr;
        auto it = f.partitions.find(tp);
        if (it == f.partitions.end() || it->second.p != p || it->second.leader_epoch != epoch) return nullptr;
        return &it->second;
    }

    // ---- truncation: our latest epoch from each partition, the leader's answer, the cut.
    void truncation_round(const std::shared_ptr<fetcher>& f) {
        struct asked {
            std::shared_ptr<partition> p;
            int32_t leader_epoch;
            std::optional<int32_t> latest;
            bool usable = false;
        };
        auto items = std::make_shared<std::vector<asked>>();
        const int64_t now = monotonic_ms();
        for (const auto& [tp, st] : f->partitions) {
            if (st.truncating && st.delayed_until_ms <= now) items->push_back({st.p, st.leader_epoch, {}, false});
        }
        auto r = std::make_shared<round>();
        r->remaining = items->size();
        r->done = [this, f, items] { ask_leader(f, items); };
        std::weak_ptr<impl> weak = shared_from_this();
        for (size_t i = 0; i < items->size(); ++i) {
            auto p = (*items)[i].p;
            const int32_t epoch = (*items)[i].leader_epoch;
            p->strand().post([weak, p, epoch, items, r, i] {
                auto pos = p->position(epoch);
                auto self = weak.lock();
                if (!self) return;
                self->on_loop([items, r, i, pos = std::move(pos)] {
                    if (pos) {
                        (*items)[i].latest = pos->latest_epoch;
                        (*items)[i].usable = true;
                    }
                    r->finish_one();
                });
            });
        }
    }

    template <typename Items>
    void ask_leader(const std::shared_ptr<fetcher>& f, const std::shared_ptr<Items>& items) {
        if (f->stopped) return;
        native::offset_for_leader_epoch_request req;
        req.replica_id = options.broker_id;
        // Partitions without any epoch (an empty log) need no answer: they keep what is
        // committed and fetch on from there.
        auto without_epoch = std::make_shared<std::vector<size_t>>();
        for (size_t i = 0; i < items->size(); ++i) {
            const auto& it = (*items)[i];
            if (!it.usable) continue;
            if (!it.latest) {
                without_epoch->push_back(i);
                continue;
            }
            const auto& tp = it.p->id();
            if (req.topics.empty() || req.topics.back().name != tp.topic) req.topics.push_back({tp.topic, {}});
            req.topics.back().partitions.push_back({tp.partition, it.leader_epoch, *it.latest});
        }
        auto apply_all = [this, f, items, without_epoch](std::map<topic_partition, storage::log::epoch_end> ends,
                                                          std::map<topic_partition, status> refused) {
            auto r = std::make_shared<round>();
            r->done = [this, f] { round_done(f); };
            std::vector<std::pair<std::shared_ptr<partition>, storage::log::epoch_end>> cuts;
            std::vector<int32_t> epochs;
            for (const size_t i : *without_epoch) {
                cuts.emplace_back((*items)[i].p, storage::log::epoch_end{});
                epochs.push_back((*items)[i].leader_epoch);
            }
            for (const auto& it : *items) {
                if (!it.usable || !it.latest) continue;
                const auto& tp = it.p->id();
                if (auto rf = refused.find(tp); rf != refused.end()) {
                    if (auto* st = current(*f, tp, it.p, it.leader_epoch)) back_off(*st, rf->second);
                    continue;
                }
                if (auto e = ends.find(tp); e != ends.end()) {
                    cuts.emplace_back(it.p, e->second);
                    epochs.push_back(it.leader_epoch);
                }
            }
            r->remaining = cuts.size() + 1;
            std::weak_ptr<impl> weak = shared_from_this();
            for (size_t i = 0; i < cuts.size(); ++i) {
                auto p = cuts[i].first;
                const auto end = cuts[i].second;
                const int32_t epoch = epochs[i];
                p->strand().post([weak, f, p, end, epoch, r] {
                    auto cut = p->truncate_to_leader(epoch, end);
                    auto self = weak.lock();
                    if (!self) return;
                    self->on_loop([self = self.get(), f, p, epoch, r, cut = std::move(cut)] {
                        if (auto* st = self->current(*f, p->id(), p, epoch)) {
                            if (!cut) {
                                if (!stale(cut.error())) {
                                    logger()->error("{}: truncation failed: {}", p->id().dir_name(), cut.error().message);
                                    self->back_off(*st, cut.error());
                                }
                            } else if (*cut) {
                                st->truncating = false;
                                st->fetch_offset = **cut;
                            }
                        }
                        r->finish_one();
                    });
                });
            }
            r->finish_one();
        };
        if (req.topics.empty()) return apply_all({}, {});
        f->conn->send(native::api_key::offset_for_leader_epoch, req,
                      [this, f, apply_all](result<client::response> resp) {
                          if (f->stopped) return;
                          auto body = resp ? resp->decode<native::offset_for_leader_epoch_response>()
                                           : result<native::offset_for_leader_epoch_response>(resp.error());
                          if (!body) return connection_failed(f, "OffsetForLeaderEpoch", body.error());
                          f->failing = false;
                          std::map<topic_partition, storage::log::epoch_end> ends;
                          std::map<topic_partition, status> refused;
                          for (const auto& t : body->topics) {
                              for (const auto& p : t.partitions) {
                                  topic_partition tp{t.name, p.partition};
                                  if (p.error_code != 0) {
                                      refused[tp] = {static_cast<errc>(p.error_code), p.error_message};
                                  } else {
                                      ends[tp] = {p.leader_epoch, p.end_offset};
                                  }
                              }
                          }
                          apply_all(std::move(ends), std::move(refused));
                      });
    }

    // ---- fetching
    void fetch_round(const std::shared_ptr<fetcher>& f) {
        native::fetch_request req;
        req.replica_id = options.broker_id;
        req.max_wait_ms = options.max_wait_ms;
        req.min_bytes = options.min_bytes;
        req.max_bytes = options.response_max_bytes;
        struct sent {
            std::shared_ptr<partition> p;
            int32_t leader_epoch;
            int64_t fetch_offset;
        };
        auto asked = std::make_shared<std::map<topic_partition, sent>>();
        const int64_t now = monotonic_ms();
        for (const auto& [tp, st] : f->partitions) {
            if (st.truncating || st.delayed_until_ms > now) continue;
            if (req.topics.empty() || req.topics.back().name != tp.topic) req.topics.push_back({tp.topic, {}});
            req.topics.back().partitions.push_back({tp.partition, st.leader_epoch, st.fetch_offset, options.partition_max_bytes});
            (*asked)[tp] = {st.p, st.leader_epoch, st.fetch_offset};
        }
        const auto timeout = options.socket_timeout + std::chrono::milliseconds(options.max_wait_ms);
        f->conn->send(
            native::api_key::fetch, req,
            [this, f, asked](result<client::response> resp) {
                if (f->stopped) return;
                if (!resp) return connection_failed(f, "Fetch", resp.error());
                auto shared = std::make_shared<client::response>(std::move(*resp));
                auto body = shared->decode<native::fetch_response>();
                if (!body) return connection_failed(f, "Fetch", body.error());
                f->failing = false;
                auto r = std::make_shared<round>();
                r->done = [this, f] { round_done(f); };
                r->remaining = 1;
                std::weak_ptr<impl> weak = shared_from_this();
                for (const auto& t : body->topics) {
                    for (const auto& part : t.partitions) {
                        const topic_partition tp{t.name, part.partition};
                        auto a = asked->find(tp);
                        if (a == asked->end()) continue;
                        auto* st = current(*f, tp, a->second.p, a->second.leader_epoch);
                        if (st == nullptr || st->truncating || st->fetch_offset != a->second.fetch_offset) continue;
                        const auto code = static_cast<errc>(part.error_code);
                        auto p = a->second.p;
                        const int32_t epoch = a->second.leader_epoch;
                        if (code == errc::offset_out_of_range) {
                            if (a->second.fetch_offset < part.log_start_offset) {
                                ++r->remaining;
                                apply(weak, f, p, epoch, r, [p, epoch, start = part.log_start_offset] {
                                    return p->restart_at(epoch, start);
                                });
                            } else {
                                // Beyond the leader's end: our histories differ; compare epochs again.
                                st->truncating = true;
                            }
                            continue;
                        }
                        if (code != errc::none) {
                            back_off(*st, {code, part.error_message});
                            continue;
                        }
                        ++r->remaining;
                        apply(weak, f, p, epoch, r, [p, epoch, records = part.records, hw = part.high_watermark, shared] {
                            return p->append_from_leader(epoch, records, hw);
                        });
                    }
                }
                r->finish_one();
            },
            timeout);
    }

    // Runs `step` on the partition's strand; its result (the next fetch offset) comes back here.
    template <typename Step>
    void apply(const std::weak_ptr<impl>& weak, const std::shared_ptr<fetcher>& f, const std::shared_ptr<partition>& p,
               int32_t epoch, const std::shared_ptr<round>& r, Step step) {
        p->strand().post([weak, f, p, epoch, r, step = std::move(step)]() mutable {
            result<int64_t> next = step();
            auto self = weak.lock();
            if (!self) return;
            self->on_loop([self = self.get(), f, p, epoch, r, next = std::move(next)] {
                if (auto* st = self->current(*f, p->id(), p, epoch)) {
                    if (next) {
                        st->fetch_offset = *next;
                    } else if (!stale(next.error())) {
                        logger()->warn("{}: appending the leader's batches failed: {}; comparing epochs again",
                                       p->id().dir_name(), next.error().message);
                        st->truncating = true;
                        self->back_off(*st, next.error());
                    }
                }
                r->finish_one();
            });
        });
    }
};

replica_fetcher_manager::replica_fetcher_manager(fetcher_options options)
    : impl_(std::make_shared<impl>(options)) {}

replica_fetcher_manager::~replica_fetcher_manager() { shutdown(); }

void replica_fetcher_manager::add_partition(int32_t leader, client::broker_address address, std::shared_ptr<partition> p,
                                            int32_t leader_epoch) {
    auto* i = impl_.get();
    i->on_loop([i, leader, address = std::move(address), p = std::move(p), leader_epoch]() mutable {
        i->add(leader, std::move(address), std::move(p), leader_epoch);
    });
}

void replica_fetcher_manager::remove_partition(const topic_partition& tp) {
    auto* i = impl_.get();
    i->on_loop([i, tp] { i->remove(tp); });
}

void replica_fetcher_manager::shutdown() {
    if (impl_->loop.joined()) return;
    impl_->loop.call([i = impl_.get()] { i->stop_all(); });
    impl_->loop.stop();
}

}  // namespace gregor::broker
