// Controller election through the ephemeral /controller znode, as ZK-mode Kafka: every broker
// watches /controller; when it is absent a broker creates it and, in the same multi, raises
// /controller_epoch by one, conditional on the epoch znode's version (Kafka's
// registerControllerAndIncrementControllerEpoch). Either both happen or neither, so a winner
// always owns a fresh epoch, and the epoch znode's version it wrote is the fence every
// controller write checks (see controller.h). /controller_epoch is created with 0 if missing,
// so the first controller's epoch is 1.
//
// A broker stops being controller when /controller goes away or names another broker, when
// its session expires (the ephemeral goes with it), or when the controller finds itself
// fenced and calls resign(). It runs the election again whenever /controller is deleted.
//
// Threads: lives on the coordination thread, which must be the zk_client's post target; the
// listener is called there. Construct before zk_client::start(); destroy only after
// zk_client::close() and coordination_thread::stop().
#pragma once

#include <chrono>
#include <cstdint>

#include "coordination/coordination_thread.h"
#include "coordination/zk_client.h"

namespace gregor::coordination {

class controller_election final : private session_listener {
public:
    class listener {
    public:
        virtual ~listener() = default;
        // This broker won. epoch_zk_version is /controller_epoch's version after the win.
        virtual void on_became_controller(int32_t epoch, int32_t epoch_zk_version) = 0;
        // This broker was controller and no longer is; called before on_controller_changed.
        virtual void on_resigned() = 0;
        // The controller the cluster has now; -1 while there is none.
        virtual void on_controller_changed(int32_t controller_id) = 0;
    };

    // `zk`, `thread` and `l` must outlive this object.
    controller_election(zk_client& zk, coordination_thread& thread, int32_t broker_id, listener& l,
                        std::chrono::milliseconds retry_backoff = std::chrono::milliseconds(1000));
    ~controller_election() override;

    controller_election(const controller_election&) = delete;
    controller_election& operator=(const controller_election&) = delete;

    // Coordination thread only.
    bool is_controller() const noexcept { return active_; }
    int32_t controller_id() const noexcept { return controller_id_; }
    int32_t epoch() const noexcept { return epoch_; }

    // The controller found its epoch fenced (a write's epoch check failed): stop acting as
    // controller now and look at /controller again. Coordination thread only.
    void resign();

private:
    void on_session_expired() override;
    void on_session_established(bool new_session) override;

    // Reads /controller (arming its watch) and runs for it if empty.
    void elect();
    zk_status try_elect();
    zk_result<std::pair<int32_t, int32_t>> read_or_create_epoch();  // (epoch, zk version)
    void become_controller(int32_t epoch, int32_t epoch_zk_version);
    void step_down();
    void set_controller(int32_t id);
    void retry_later();

    zk_client& zk_;
    coordination_thread& thread_;
    int32_t broker_id_;
    listener& listener_;
    std::chrono::milliseconds retry_backoff_;
    zk_client::watch_id watch_ = 0;

    bool active_ = false;
    bool retry_pending_ = false;
    int32_t controller_id_ = -1;
    int32_t epoch_ = 0;
};

}  // namespace gregor::coordination
