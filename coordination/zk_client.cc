#include "coordination/zk_client.h"

#include <zookeeper/zookeeper.h>

#include <cerrno>
#include <cstring>

#include "common/invariant.h"
#include "common/logger.h"

namespace gregor::coordination {
namespace {

std::shared_ptr<spdlog::logger> log() {
    static const auto logger = logging::get("zookeeper");
    return logger;
}

// The C client's own messages repeat what this wrapper reports at the right level (every
// failed connection attempt is an ERROR there), so they are kept for debugging only.
void c_client_log(const char* message) {
    static const auto logger = logging::get("zookeeper-c");
    logger->debug("{}", message);
}

zk_errc map_rc(int rc) {
    switch (rc) {
    case ZOK: return zk_errc::ok;
    case ZNONODE: return zk_errc::no_node;
    case ZNODEEXISTS: return zk_errc::node_exists;
    case ZBADVERSION: return zk_errc::bad_version;
    case ZNOTEMPTY: return zk_errc::not_empty;
    case ZNOCHILDRENFOREPHEMERALS: return zk_errc::no_children_for_ephemerals;
    case ZCONNECTIONLOSS: return zk_errc::connection_loss;
    case ZOPERATIONTIMEOUT: return zk_errc::operation_timeout;
    case ZSESSIONEXPIRED:
    case ZINVALIDSTATE: return zk_errc::session_expired;
    case ZCLOSING: return zk_errc::closing;
    case ZNOAUTH:
    case ZAUTHFAILED: return zk_errc::not_authorized;
    case ZBADARGUMENTS: return zk_errc::bad_arguments;
    default: return zk_errc::other;
    }
}

zk_status failure(int rc, const char* op, const std::string& path) {
    return {map_rc(rc), std::string(op) + " " + path + ": " + zerror(rc)};
}

zk_status no_handle(bool closed) {
    if (closed) return {zk_errc::closing, "the ZooKeeper client is closed"};
    return {zk_errc::connection_loss, "no ZooKeeper session yet"};
}

zk_stat to_stat(const Stat& s) {
    zk_stat out;
    out.czxid = s.czxid;
    out.mzxid = s.mzxid;
    out.ctime = s.ctime;
    out.mtime = s.mtime;
    out.version = s.version;
    out.cversion = s.cversion;
    out.ephemeral_owner = s.ephemeralOwner;
    out.data_length = s.dataLength;
    out.num_children = s.numChildren;
    out.pzxid = s.pzxid;
    return out;
}

int create_flags(create_mode m) {
    switch (m) {
    case create_mode::persistent: return ZOO_PERSISTENT;
    case create_mode::ephemeral: return ZOO_EPHEMERAL;
    case create_mode::persistent_sequential: return ZOO_PERSISTENT_SEQUENTIAL;
    case create_mode::ephemeral_sequential: return ZOO_EPHEMERAL_SEQUENTIAL;
    }
    return ZOO_PERSISTENT;
}

std::string parent_of(const std::string& path) {
    const auto slash = path.rfind('/');
    return slash == 0 || slash == std::string::npos ? std::string() : path.substr(0, slash);
}

// The blocking calls proper, on a given handle (the session's, or the one that creates the
// chroot before the session exists).
zk_status ensure_path_on(zhandle_t* zh, const std::string& path) {
    for (size_t pos = 1; pos <= path.size(); ++pos) {
        if (pos != path.size() && path[pos] != '/') continue;
        const std::string prefix = path.substr(0, pos);
        // Kafka creates intermediate znodes with null data.
        const int rc = zoo_create(zh, prefix.c_str(), nullptr, -1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT,
                                  nullptr, 0);
        if (rc != ZOK && rc != ZNODEEXISTS) return failure(rc, "create", prefix);
    }
    return {};
}

zk_result<std::string> create_on(zhandle_t* zh, const std::string& path, const std::string& data,
                                 create_mode mode, bool create_parents) {
    std::string created(path.size() + 16, '\0');  // room for a 10-digit sequence suffix
    for (int attempt = 0;; ++attempt) {
        const int rc = zoo_create(zh, path.c_str(), data.data(), static_cast<int>(data.size()),
                                  &ZOO_OPEN_ACL_UNSAFE, create_flags(mode), created.data(),
                                  static_cast<int>(created.size()));
        if (rc == ZOK) {
            created.resize(std::strlen(created.c_str()));
            return created;
        }
        if (rc != ZNONODE || !create_parents || attempt > 0) return failure(rc, "create", path);
        if (auto s = ensure_path_on(zh, parent_of(path)); !s.ok()) return s;
    }
}

}  // namespace

// --- zk_op ---------------------------------------------------------------------------------

zk_op zk_op::create(std::string path, std::string data, create_mode mode) {
    zk_op op;
    op.type = kind::create;
    op.path = std::move(path);
    op.data = std::move(data);
    op.mode = mode;
    return op;
}

zk_op zk_op::remove(std::string path, int32_t version) {
    zk_op op;
    op.type = kind::remove;
    op.path = std::move(path);
    op.version = version;
    return op;
}

zk_op zk_op::set(std::string path, std::string data, int32_t version) {
    zk_op op;
    op.type = kind::set;
    op.path = std::move(path);
    op.data = std::move(data);
    op.version = version;
    return op;
}

zk_op zk_op::check(std::string path, int32_t version) {
    zk_op op;
    op.type = kind::check;
    op.path = std::move(path);
    op.version = version;
    return op;
}

// --- session -------------------------------------------------------------------------------

// The C client's watcher context: which client, and which of its handles, an event is for.
// bootstrap marks the short-lived handle that creates the chroot.
struct zk_client::handle_context {
    zk_client* client;
    uint64_t generation;
    bool bootstrap;
};

zk_client::zk_client(zk_client_config config, post_fn post)
    : config_(std::move(config)), post_(std::move(post)) {
    static std::once_flag quiet;
    std::call_once(quiet, [] { zoo_set_debug_level(ZOO_LOG_LEVEL_WARN); });
    // "h1:p1,h2:p2/chroot": the chroot starts at the first '/'.
    const auto slash = config_.connect.find('/');
    hosts_ = config_.connect.substr(0, slash);
    if (slash != std::string::npos) {
        chroot_ = config_.connect.substr(slash);
        while (chroot_.size() > 1 && chroot_.back() == '/') chroot_.pop_back();
        if (chroot_ == "/") chroot_.clear();
    }
}

zk_client::~zk_client() { close(); }

void zk_client::add_session_listener(session_listener* listener) {
    GREGOR_INVARIANT(!session_thread_.joinable(), "session listeners are added before start()");
    listeners_.push_back(listener);
}

void zk_client::start() {
    GREGOR_INVARIANT(!session_thread_.joinable(), "zk_client::start is called once");
    session_thread_ = std::thread([this] { session_loop(); });
}

void zk_client::close() {
    {
        std::lock_guard lock(mu_);
        if (stopping_) return;
        stopping_ = true;
    }
    cv_.notify_all();
    if (session_thread_.joinable()) session_thread_.join();
    // Events of the closing handle are stale from here on.
    generation_.fetch_add(1);
    handle_ptr last;
    {
        std::lock_guard lock(mu_);
        last = std::move(handle_);
    }
    connected_ = false;
    if (last) log()->info("Closing ZooKeeper session 0x{:x}", session_id_.load());
    last.reset();  // zookeeper_close, unless a call in flight still holds it
    // A callback that passed the generation check before the bump finishes posting before
    // close returns.
    std::lock_guard barrier(dispatch_mu_);
}

bool zk_client::wait_connected(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [this] { return connected_.load() || stopping_; }) &&
           connected_.load();
}

std::optional<session_credentials> zk_client::credentials() const {
    auto h = current_handle();
    if (!h) return std::nullopt;
    const clientid_t* id = zoo_client_id(h.get());
    if (id == nullptr || id->client_id == 0) return std::nullopt;
    return session_credentials{id->client_id, std::string(id->passwd, sizeof(id->passwd))};
}

zk_client::watch_id zk_client::watch(std::string path, watch_callback cb) {
    std::lock_guard lock(watch_mu_);
    const watch_id id = next_watch_id_++;
    watches_.emplace(std::move(path), std::make_pair(id, std::move(cb)));
    return id;
}

void zk_client::unwatch(watch_id id) {
    std::lock_guard lock(watch_mu_);
    for (auto it = watches_.begin(); it != watches_.end(); ++it) {
        if (it->second.first == id) {
            watches_.erase(it);
            return;
        }
    }
}

zk_client::handle_ptr zk_client::current_handle() const {
    std::lock_guard lock(mu_);
    return handle_;
}

bool zk_client::closed() const {
    std::lock_guard lock(mu_);
    return stopping_;
}

zk_client::handle_ptr zk_client::open_handle(const std::string& connect, uint64_t generation,
                                             bool bootstrap) {
    auto* ctx = new handle_context{this, generation, bootstrap};
    zhandle_t* zh = zookeeper_init2(connect.c_str(), &zk_client::on_watcher_event,
                                    static_cast<int>(config_.session_timeout.count()), nullptr, ctx,
                                    ZOO_NO_LOG_CLIENTENV, &c_client_log);
    if (zh == nullptr) {
        const int err = errno;
        delete ctx;
        log()->warn("Cannot create a ZooKeeper client for '{}': {}; retrying", connect,
                    std::strerror(err));
        return nullptr;
    }
    // The handle is closed when its last user lets go: the session thread, close(), or a
    // call still in flight. No C client thread ever holds it, so close never runs on one.
    return handle_ptr(zh, [ctx](zhandle_t* h) {
        zookeeper_close(h);
        delete ctx;
    });
}

void zk_client::on_watcher_event(zhandle_t* zh, int type, int state, const char* path, void* ctx) {
    const auto* c = static_cast<const handle_context*>(ctx);
    c->client->handle_event(*c, zh, type, state, path);
}

void zk_client::handle_event(const handle_context& ctx, zhandle_t* zh, int type, int state,
                             const char* path) {
    if (ctx.bootstrap) {
        if (type == ZOO_SESSION_EVENT && state == ZOO_CONNECTED_STATE) {
            std::lock_guard lock(mu_);
            bootstrap_connected_ = true;
        }
        cv_.notify_all();
        return;
    }
    std::lock_guard dispatch(dispatch_mu_);
    if (ctx.generation != generation_.load()) return;  // a handle already replaced or closed

    if (type == ZOO_SESSION_EVENT) {
        if (state == ZOO_CONNECTED_STATE) {
            const clientid_t* id = zoo_client_id(zh);
            const int64_t sid = id != nullptr ? id->client_id : 0;
            const bool new_session = sid != last_session_id_.exchange(sid);
            session_id_ = sid;
            {
                std::lock_guard lock(mu_);
                connected_ = true;
            }
            cv_.notify_all();
            if (new_session) {
                log()->info("Connected to ZooKeeper at {} (session 0x{:x}, timeout {} ms)",
                            config_.connect, sid, zoo_recv_timeout(zh));
            } else {
                log()->info("Reconnected to ZooKeeper at {} (session 0x{:x})", config_.connect, sid);
            }
            for (auto* l : listeners_) post_([l, new_session] { l->on_session_established(new_session); });
        } else if (state == ZOO_CONNECTING_STATE || state == ZOO_ASSOCIATING_STATE) {
            if (connected_.exchange(false)) {
                log()->warn("Disconnected from ZooKeeper at {}; reconnecting", config_.connect);
            }
            cv_.notify_all();
        } else if (state == ZOO_EXPIRED_SESSION_STATE || state == ZOO_AUTH_FAILED_STATE) {
            connected_ = false;
            log()->warn("ZooKeeper session 0x{:x} {}; opening a new session", session_id_.load(),
                        state == ZOO_EXPIRED_SESSION_STATE ? "expired" : "failed authentication");
            {
                std::lock_guard lock(mu_);
                expired_ = true;
            }
            cv_.notify_all();
            for (auto* l : listeners_) post_([l] { l->on_session_expired(); });
        }
        return;
    }

    if (path == nullptr) return;
    watch_event event;
    if (type == ZOO_CREATED_EVENT) {
        event.type = watch_event::kind::created;
    } else if (type == ZOO_DELETED_EVENT) {
        event.type = watch_event::kind::deleted;
    } else if (type == ZOO_CHANGED_EVENT) {
        event.type = watch_event::kind::data_changed;
    } else if (type == ZOO_CHILD_EVENT) {
        event.type = watch_event::kind::children_changed;
    } else {
        return;  // ZOO_NOTWATCHING_EVENT: a watch was removed, nothing changed
    }
    event.path = path;
    std::vector<watch_callback> targets;
    {
        std::lock_guard lock(watch_mu_);
        const auto [first, last] = watches_.equal_range(event.path);
        for (auto it = first; it != last; ++it) targets.push_back(it->second.second);
    }
    for (auto& cb : targets) post_([cb = std::move(cb), event] { cb(event); });
}

bool zk_client::create_chroot() {
    handle_ptr h = open_handle(hosts_, 0, /*bootstrap=*/true);
    if (!h) return false;
    {
        std::unique_lock lock(mu_);
        bootstrap_connected_ = false;
        auto since = std::chrono::steady_clock::now();
        while (!stopping_ && !bootstrap_connected_) {
            cv_.wait_for(lock, config_.unreachable_log_interval);
            const auto now = std::chrono::steady_clock::now();
            if (!bootstrap_connected_ && now - since >= config_.unreachable_log_interval) {
                log()->warn("ZooKeeper at {} is not reachable; retrying", hosts_);
                since = now;
            }
        }
        if (stopping_) return false;
    }
    const zk_status s = ensure_path_on(h.get(), chroot_);
    if (!s.ok()) {
        log()->warn("Cannot create the chroot {} on ZooKeeper at {}: {}; retrying", chroot_, hosts_,
                    s.message());
        return false;
    }
    log()->info("ZooKeeper chroot {} is in place", chroot_);
    return true;
}

void zk_client::session_loop() {
    const auto retry_pause = std::chrono::seconds(1);
    auto pause_or_stop = [&] {
        std::unique_lock lock(mu_);
        return cv_.wait_for(lock, retry_pause, [this] { return stopping_; });
    };
    // A chroot must exist before a session rooted in it can do anything.
    if (!chroot_.empty()) {
        while (!create_chroot()) {
            if (pause_or_stop()) return;
        }
    }
    for (;;) {
        handle_ptr old;
        {
            std::unique_lock lock(mu_);
            if (stopping_) break;
            // Opened under mu_: the new session's first event takes mu_ before it reaches the
            // listeners, so they never see the session announced while handle_ is not yet it.
            handle_ = open_handle(config_.connect, generation_.fetch_add(1) + 1, /*bootstrap=*/false);
            if (!handle_) {
                if (cv_.wait_for(lock, retry_pause, [this] { return stopping_; })) break;
                continue;
            }
            expired_ = false;
            // Wait for expiry or close, saying so while the ensemble cannot be reached.
            auto since = std::chrono::steady_clock::now();
            while (!stopping_ && !expired_) {
                cv_.wait_for(lock, config_.unreachable_log_interval);
                const auto now = std::chrono::steady_clock::now();
                if (connected_.load()) {
                    since = now;
                } else if (now - since >= config_.unreachable_log_interval) {
                    log()->warn("ZooKeeper at {} is not reachable; retrying", hosts_);
                    since = now;
                }
            }
            if (stopping_) break;
            old = std::move(handle_);
        }
        old.reset();  // the expired handle: its calls fail at once, so this is prompt
    }
}

// --- blocking calls ------------------------------------------------------------------------

zk_result<std::string> zk_client::create(const std::string& path, const std::string& data,
                                         create_mode mode, bool create_parents) {
    auto h = current_handle();
    if (!h) return no_handle(closed());
    return create_on(h.get(), path, data, mode, create_parents);
}

zk_result<zk_node> zk_client::get(const std::string& path, bool watch) {
    auto h = current_handle();
    if (!h) return no_handle(closed());
    std::string buf(16 * 1024, '\0');
    for (;;) {
        Stat st{};
        int len = static_cast<int>(buf.size());
        const int rc = zoo_get(h.get(), path.c_str(), watch ? 1 : 0, buf.data(), &len, &st);
        if (rc != ZOK) return failure(rc, "get", path);
        if (st.dataLength > static_cast<int32_t>(buf.size())) {
            buf.resize(static_cast<size_t>(st.dataLength));  // grew since the stat; read again
            continue;
        }
        buf.resize(len < 0 ? 0 : static_cast<size_t>(len));  // -1: null data
        return zk_node{std::move(buf), to_stat(st)};
    }
}

zk_result<std::optional<zk_stat>> zk_client::exists(const std::string& path, bool watch) {
    auto h = current_handle();
    if (!h) return no_handle(closed());
    Stat st{};
    const int rc = zoo_exists(h.get(), path.c_str(), watch ? 1 : 0, &st);
    if (rc == ZNONODE) return std::optional<zk_stat>();
    if (rc != ZOK) return failure(rc, "exists", path);
    return std::optional<zk_stat>(to_stat(st));
}

zk_result<std::vector<std::string>> zk_client::get_children(const std::string& path, bool watch) {
    auto h = current_handle();
    if (!h) return no_handle(closed());
    String_vector sv{};
    const int rc = zoo_get_children(h.get(), path.c_str(), watch ? 1 : 0, &sv);
    if (rc != ZOK) return failure(rc, "get_children", path);
    std::vector<std::string> out;
    out.reserve(static_cast<size_t>(sv.count));
    for (int32_t i = 0; i < sv.count; ++i) out.emplace_back(sv.data[i]);
    deallocate_String_vector(&sv);
    return out;
}

zk_result<zk_stat> zk_client::set(const std::string& path, const std::string& data, int32_t version) {
    auto h = current_handle();
    if (!h) return no_handle(closed());
    Stat st{};
    const int rc = zoo_set2(h.get(), path.c_str(), data.data(), static_cast<int>(data.size()), version, &st);
    if (rc != ZOK) return failure(rc, "set", path);
    return to_stat(st);
}

zk_status zk_client::remove(const std::string& path, int32_t version) {
    auto h = current_handle();
    if (!h) return no_handle(closed());
    const int rc = zoo_delete(h.get(), path.c_str(), version);
    if (rc != ZOK) return failure(rc, "delete", path);
    return {};
}

zk_multi_result zk_client::multi(std::span<const zk_op> ops) {
    zk_multi_result out;
    if (ops.empty()) return out;
    auto h = current_handle();
    if (!h) {
        const zk_status s = no_handle(closed());
        out.code = s.code();
        out.message = s.message();
        return out;
    }
    const size_t n = ops.size();
    std::vector<zoo_op_t> zops(n);
    std::vector<zoo_op_result_t> results(n);
    std::vector<std::string> created(n);
    std::vector<Stat> stats(n);
    for (size_t i = 0; i < n; ++i) {
        const zk_op& op = ops[i];
        switch (op.type) {
        case zk_op::kind::create:
            created[i].assign(op.path.size() + 16, '\0');
            zoo_create_op_init(&zops[i], op.path.c_str(), op.data.data(), static_cast<int>(op.data.size()),
                               &ZOO_OPEN_ACL_UNSAFE, create_flags(op.mode), created[i].data(),
                               static_cast<int>(created[i].size()));
            break;
        case zk_op::kind::remove:
            zoo_delete_op_init(&zops[i], op.path.c_str(), op.version);
            break;
        case zk_op::kind::set:
            zoo_set_op_init(&zops[i], op.path.c_str(), op.data.data(), static_cast<int>(op.data.size()),
                            op.version, &stats[i]);
            break;
        case zk_op::kind::check:
            zoo_check_op_init(&zops[i], op.path.c_str(), op.version);
            break;
        }
    }
    const int rc = zoo_multi(h.get(), static_cast<int>(n), zops.data(), results.data());
    if (rc == ZOK) {
        out.results.resize(n);
        for (size_t i = 0; i < n; ++i) {
            if (ops[i].type == zk_op::kind::create) {
                out.results[i].created_path = created[i].c_str();
            } else if (ops[i].type == zk_op::kind::set) {
                out.results[i].stat = to_stat(stats[i]);
            }
        }
        return out;
    }
    out.code = map_rc(rc);
    out.message = std::string("multi: ") + zerror(rc);
    // Ops before the failing one report ZOK, those after ZRUNTIMEINCONSISTENCY.
    for (size_t i = 0; i < n; ++i) {
        if (results[i].err != ZOK && results[i].err != ZRUNTIMEINCONSISTENCY) {
            out.failed_op = static_cast<int>(i);
            out.message += " at op " + std::to_string(i) + " on " + ops[i].path;
            break;
        }
    }
    return out;
}

zk_status zk_client::ensure_path(const std::string& path) {
    auto h = current_handle();
    if (!h) return no_handle(closed());
    return ensure_path_on(h.get(), path);
}

zk_result<std::vector<std::string>> zk_client::subtree(const std::string& path) {
    auto children = get_children(path);
    if (children.code() == zk_errc::no_node) return std::vector<std::string>();
    if (!children) return children.status();
    std::vector<std::string> out;
    for (const auto& child : *children) {
        auto below = subtree(path + "/" + child);
        if (!below) return below.status();
        out.insert(out.end(), below->begin(), below->end());
    }
    out.push_back(path);
    return out;
}

}  // namespace gregor::coordination
