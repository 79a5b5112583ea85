// A ZooKeeper session over the C client (libzookeeper_mt), with errors as values.
//
// Connection: `connect` is "host:port[,host:port...][/chroot]" as zookeeper.connect. start()
// returns at once; the client keeps trying to reach the ensemble, saying "ZooKeeper at X is not
// reachable; retrying" every few seconds, and never gives up. A chroot that does not exist is
// created first (through a session without the chroot), as Kafka does. When the session
// expires the client opens a new one by itself; listeners hear on_session_expired() and then
// on_session_established(true), and must then re-create their ephemerals and re-set watches
// (ZooKeeper forgets both with the session). After a mere reconnect within the same session,
// ZooKeeper keeps both and listeners hear on_session_established(false).
//
// Watches follow Kafka's ZooKeeperClient: a read with watch=true arms ZooKeeper's one-shot
// watch for that path, and the event goes to every callback registered with watch() for the
// path; a callback re-arms by reading again with watch=true.
//
// Threads: the blocking calls (create ... multi) are safe from any thread and block it for a
// ZooKeeper round trip (bounded by the session timeout while the server is unreachable), so
// never call them on the broker's event loop. Session and watch callbacks are handed to the
// post_fn given at construction (the coordination thread), in the order ZooKeeper reported
// them; they never run on the C client's threads. The object must outlive every call in
// flight; listeners and watch callbacks must stay valid until close() has returned and the
// tasks it posted have run or been dropped.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "coordination/coordination_thread.h"
#include "coordination/zk_result.h"

typedef struct _zhandle zhandle_t;  // NOLINT: the C client's own spelling

namespace gregor::coordination {

struct zk_client_config {
    std::string connect = "127.0.0.1:2181";                     // zookeeper.connect
    std::chrono::milliseconds session_timeout{18000};           // zookeeper.session.timeout.ms
    std::chrono::milliseconds unreachable_log_interval{5000};   // how often "not reachable" is said
};

// A znode's metadata, as ZooKeeper's Stat.
struct zk_stat {
    int64_t czxid = 0;
    int64_t mzxid = 0;
    int64_t ctime = 0;
    int64_t mtime = 0;
    int32_t version = 0;
    int32_t cversion = 0;
    int64_t ephemeral_owner = 0;  // the owning session id; 0 for persistent znodes
    int32_t data_length = 0;
    int32_t num_children = 0;
    int64_t pzxid = 0;
};

struct zk_node {
    std::string data;
    zk_stat stat;
};

enum class create_mode { persistent, ephemeral, persistent_sequential, ephemeral_sequential };

// One operation of a multi: all commit or none does.
struct zk_op {
    enum class kind { create, remove, set, check };
    kind type = kind::check;
    std::string path;
    std::string data;
    int32_t version = -1;  // remove/set/check: the expected version; -1 matches any
    create_mode mode = create_mode::persistent;

    static zk_op create(std::string path, std::string data, create_mode mode = create_mode::persistent);
    static zk_op remove(std::string path, int32_t version = -1);
    static zk_op set(std::string path, std::string data, int32_t version = -1);
    static zk_op check(std::string path, int32_t version);
};

struct zk_op_result {
    std::string created_path;  // create: the path created (with its sequence suffix)
    zk_stat stat;              // set: the znode's new stat
};

struct [[nodiscard]] zk_multi_result {
    zk_errc code = zk_errc::ok;       // ok, or the first failing op's error, or a session error
    int failed_op = -1;               // index of the first failing op; -1 if none is to blame
    std::string message;
    std::vector<zk_op_result> results;  // one per op when ok

    bool ok() const noexcept { return code == zk_errc::ok; }
};

struct watch_event {
    enum class kind { created, deleted, data_changed, children_changed };
    kind type = kind::created;
    std::string path;  // relative to the chroot
};

class session_listener {
public:
    virtual ~session_listener() = default;
    // The session is gone: every ephemeral znode it owned is deleted and its watches are lost.
    virtual void on_session_expired() {}
    // Connected. new_session: a session this client has not had before (first connect, or
    // after expiry); false: a reconnect that kept the session, its ephemerals and watches.
    virtual void on_session_established(bool new_session) = 0;
};

// The session's identity, for tests that expire it from outside (a second handle that
// attaches to the session and closes it) and for comparing with a znode's ephemeral owner.
struct session_credentials {
    int64_t id = 0;
    std::string password;  // 16 bytes
};

class zk_client {
public:
    using watch_callback = std::function<void(const watch_event&)>;
    using watch_id = uint64_t;

    // `post` receives session and watch callbacks; it must accept work until close() returns.
    zk_client(zk_client_config config, post_fn post);
    ~zk_client();  // close()

    zk_client(const zk_client&) = delete;
    zk_client& operator=(const zk_client&) = delete;

    // REQUIRES: before start().
    void add_session_listener(session_listener* listener);

    // Begins connecting and returns at once.
    void start();
    // Closes the session (its ephemerals vanish at once) and stops reconnecting. After it
    // returns nothing more is posted. Idempotent.
    void close();

    // Blocks until a session is connected or `timeout` passes. For tools and tests.
    bool wait_connected(std::chrono::milliseconds timeout);
    bool connected() const noexcept { return connected_.load(); }
    // The current session's id; 0 before the first session.
    int64_t session_id() const noexcept { return session_id_.load(); }
    std::optional<session_credentials> credentials() const;

    // Registers `cb` for events on `path` (exactly that path, relative to the chroot).
    watch_id watch(std::string path, watch_callback cb);
    void unwatch(watch_id id);

    // --- blocking calls ----------------------------------------------------------------------
    // Returns the created path (differs from `path` for sequential modes). With
    // create_parents, missing parents are created as empty persistent znodes.
    zk_result<std::string> create(const std::string& path, const std::string& data, create_mode mode,
                                  bool create_parents = false);
    zk_result<zk_node> get(const std::string& path, bool watch = false);
    // nullopt when the znode does not exist (a watch then fires on its creation).
    zk_result<std::optional<zk_stat>> exists(const std::string& path, bool watch = false);
    zk_result<std::vector<std::string>> get_children(const std::string& path, bool watch = false);
    zk_result<zk_stat> set(const std::string& path, const std::string& data, int32_t version = -1);
    zk_status remove(const std::string& path, int32_t version = -1);
    zk_multi_result multi(std::span<const zk_op> ops);

    // Creates `path` and its parents as empty persistent znodes where missing.
    zk_status ensure_path(const std::string& path);
    // Every znode under `path` and then `path` itself, deepest first: the order to delete
    // them in. Empty if `path` does not exist.
    zk_result<std::vector<std::string>> subtree(const std::string& path);

private:
    struct handle_context;
    using handle_ptr = std::shared_ptr<zhandle_t>;

    static void on_watcher_event(zhandle_t* zh, int type, int state, const char* path, void* ctx);
    // On the C client's completion thread: updates the session state, hands callbacks to post_.
    void handle_event(const handle_context& ctx, zhandle_t* zh, int type, int state, const char* path);
    handle_ptr current_handle() const;
    bool closed() const;
    handle_ptr open_handle(const std::string& connect, uint64_t generation, bool bootstrap);
    // The session thread: opens sessions, replaces expired ones, reports an unreachable ensemble.
    void session_loop();
    bool create_chroot();

    zk_client_config config_;
    post_fn post_;
    std::string hosts_;   // connect string without the chroot
    std::string chroot_;  // "" or "/a/b"

    std::vector<session_listener*> listeners_;  // fixed after start()

    mutable std::mutex mu_;
    std::condition_variable cv_;       // session state changes, stop
    handle_ptr handle_;                // guarded by mu_
    bool expired_ = false;             // guarded by mu_: the current handle's session expired
    bool bootstrap_connected_ = false; // guarded by mu_: the chroot-creating handle connected
    bool stopping_ = false;            // guarded by mu_
    std::atomic<uint64_t> generation_{0};  // the current handle's; older handles' events are dropped
    std::atomic<bool> connected_{false};
    std::atomic<int64_t> session_id_{0};
    std::atomic<int64_t> last_session_id_{0};  // the last session announced to listeners
    // Held while an event is checked and posted, so close() can wait out one in progress.
    std::mutex dispatch_mu_;

    std::mutex watch_mu_;
    std::multimap<std::string, std::pair<watch_id, watch_callback>> watches_;  // guarded by watch_mu_
    watch_id next_watch_id_ = 1;                                             // guarded by watch_mu_

    std::thread session_thread_;
};

}  // namespace gregor::coordination
