#!/usr/bin/env python3
"""Measuring primitives for bench/run_cluster_bench.sh and bench/run_replication_bench.sh
(Python standard library only).

Speaks just enough of Gregor's native protocol (docs/protocol.md: Metadata, Produce,
CreateTopics) and of ZooKeeper's client protocol (a session, getData, getChildren) to time
what the cluster does, without a tool's process start in the figure. Every "wait-*" command
polls at short intervals until its condition holds and prints the seconds elapsed since
--since (a Unix time taken by the caller right before it acted, e.g. bash's $EPOCHREALTIME
before `kill`), so the figure runs from the action and not from this process's start.

The replication figures also read what the tools wrote: the verifiable producer's JSON lines,
gregor-producer-perf-test's total line, and a replica's leader-epoch-checkpoint.

Each command prints one JSON object on stdout; failures go to stderr with exit status 1.
"""
import argparse
import json
import os
import re
import signal
import socket
import statistics
import struct
import sys
import time

POLL_S = 0.02       # ZooKeeper polls
MD_POLL_S = 0.02    # Metadata polls (each also costs a request per broker)


def die(msg):
    print(f"cluster_bench.py: {msg}", file=sys.stderr)
    sys.exit(1)


def split_hostport(s):
    host, _, port = s.rpartition(":")
    return host, int(port)


# ---------------------------------------------------------------- native protocol encoding

class Enc:
    def __init__(self):
        self.parts = []

    def i8(self, v): self.parts.append(struct.pack(">b", v)); return self
    def i16(self, v): self.parts.append(struct.pack(">h", v)); return self
    def i32(self, v): self.parts.append(struct.pack(">i", v)); return self
    def i64(self, v): self.parts.append(struct.pack(">q", v)); return self
    def boolean(self, v): return self.i8(1 if v else 0)

    def string(self, s):
        if s is None:
            return self.i16(-1)
        b = s.encode()
        self.i16(len(b)); self.parts.append(b); return self

    def bytes_(self, b):
        self.i32(len(b)); self.parts.append(b); return self

    def array(self, items, fn):
        if items is None:
            return self.i32(-1)
        self.i32(len(items))
        for x in items:
            fn(x)
        return self

    def value(self): return b"".join(self.parts)


class Dec:
    def __init__(self, b):
        self.b, self.p = b, 0

    def _take(self, fmt, n):
        v = struct.unpack_from(fmt, self.b, self.p)[0]; self.p += n; return v

    def i8(self): return self._take(">b", 1)
    def i16(self): return self._take(">h", 2)
    def i32(self): return self._take(">i", 4)
    def i64(self): return self._take(">q", 8)
    def boolean(self): return self.i8() != 0

    def string(self):
        n = self.i16()
        if n < 0:
            return None
        s = self.b[self.p:self.p + n].decode(); self.p += n; return s

    def array(self, fn):
        n = self.i32()
        return None if n < 0 else [fn() for _ in range(n)]


PREFACE = bytes([0xFF]) + b"GREGOR" + bytes([1])


class Conn:
    """One native-protocol connection; requests one at a time."""

    def __init__(self, addr, timeout=30.0):
        host, port = split_hostport(addr)
        self.addr = addr
        self.s = socket.create_connection((host, port), timeout=timeout)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.s.sendall(PREFACE)
        self.corr = 0

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass

    def _recv(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.s.recv(min(n - len(buf), 1 << 20))
            if not chunk:
                raise ConnectionError(f"{self.addr} closed the connection")
            buf += chunk
        return bytes(buf)

    def request(self, api_key, body, version=0):
        self.corr += 1
        head = struct.pack(">hhi", api_key, version, self.corr)
        self.s.sendall(struct.pack(">i", len(head) + len(body)) + head + body)
        n = struct.unpack(">i", self._recv(4))[0]
        d = Dec(self._recv(n))
        corr = d.i32()
        if corr != self.corr:
            raise ConnectionError(f"correlation id {corr}, expected {self.corr}")
        err, msg = d.i16(), d.string()
        if err:
            raise RuntimeError(f"{self.addr}: request-level error {err}: {msg}")
        return d, n + 4

    def metadata(self, topics=None):
        """topics None: every topic; []: brokers only. Returns (dict, response bytes)."""
        e = Enc()
        e.array(topics, lambda t: e.string(t))
        e.boolean(False)
        d, size = self.request(1, e.value())
        md = {"controller": d.i32()}
        md["brokers"] = d.array(lambda: (d.i32(), d.string(), d.i32(), d.string()))

        def partition():
            err, p, leader, epoch = d.i16(), d.i32(), d.i32(), d.i32()
            replicas = d.array(d.i32)
            isr = d.array(d.i32)
            return (p, leader, epoch, replicas, isr, err)

        def topic():
            err, msg, name, _tid, _internal = d.i16(), d.string(), d.string(), d.string(), d.boolean()
            return name, err, d.array(partition)

        md["topics"] = {name: {"error": err, "partitions": parts}
                        for name, err, parts in d.array(topic)}
        return md, size

    def create_topics(self, specs, timeout_ms):
        """specs: [(name, partitions, rf)]. Returns {name: (error_code, message)}."""
        e = Enc()

        def topic(s):
            e.string(s[0]); e.i32(s[1]); e.i16(s[2])
            e.array([], None); e.array([], None)
        e.array(specs, topic)
        e.i32(timeout_ms)
        e.boolean(False)
        d, _ = self.request(5, e.value())
        out = {}
        for _ in range(d.i32()):
            name, err, msg = d.string(), d.i16(), d.string()
            d.i32(); d.i16()
            out[name] = (err, msg)
        return out

    def produce(self, topic, partitions, timeout_ms=10000):
        """One small batch to each partition, acks=1. Returns {partition: error_code}."""
        e = Enc()
        e.i16(1); e.i32(timeout_ms)

        def part(p):
            e.i32(p); e.i32(-1); e.bytes_(record_batch(b"cluster-bench"))  # leader epoch unknown
        e.array([topic], lambda t: (e.string(t), e.array(partitions, part)))
        d, _ = self.request(2, e.value())
        out = {}
        for _ in range(d.i32()):
            d.string()
            for _ in range(d.i32()):
                p, err = d.i32(), d.i16()
                d.string(); d.i64(); d.i64(); d.i64()
                out[p] = err
        return out


# ---------------------------------------------------------------- RecordBatch v2, CRC32C

def _crc_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


CRC_TABLE = _crc_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = CRC_TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def varint(v):
    v = (v << 1) ^ (v >> 63)  # zigzag
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def record_batch(value):
    now = int(time.time() * 1000)
    rec = b"\x00" + varint(0) + varint(0) + varint(-1) + varint(len(value)) + value + varint(0)
    rec = varint(len(rec)) + rec
    after_crc = (struct.pack(">hiqqqhii", 0, 0, now, now, -1, -1, -1, 1) + rec)
    head = struct.pack(">bI", 2, crc32c(after_crc))  # magic, crc
    body = struct.pack(">i", -1) + head + after_crc    # partitionLeaderEpoch ...
    return struct.pack(">qi", 0, len(body)) + body


# ---------------------------------------------------------------- ZooKeeper client

class ZK:
    """A minimal ZooKeeper session: getData and getChildren, no watches."""

    def __init__(self, addr, chroot="", timeout_ms=30000):
        host, port = split_hostport(addr)
        self.chroot = chroot.rstrip("/")
        self.s = socket.create_connection((host, port), timeout=10)
        req = struct.pack(">iqiqi", 0, 0, timeout_ms, 0, 16) + b"\0" * 16 + b"\0"
        self.s.sendall(struct.pack(">i", len(req)) + req)
        self._frame()
        self.xid = 0
        self.last_ping = time.monotonic()

    def _recv(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("ZooKeeper closed the connection")
            buf += chunk
        return bytes(buf)

    def _frame(self):
        n = struct.unpack(">i", self._recv(4))[0]
        return self._recv(n)

    def _call(self, op, path):
        self.xid += 1
        p = (self.chroot + path).rstrip("/") or "/"
        pb = p.encode()
        req = struct.pack(">ii", self.xid, op) + struct.pack(">i", len(pb)) + pb + b"\0"
        self.s.sendall(struct.pack(">i", len(req)) + req)
        while True:
            f = self._frame()
            xid, _zxid, err = struct.unpack_from(">iqi", f)
            if xid == self.xid:
                return err, f[16:]

    def get(self, path):
        """The znode's data, or None when it does not exist."""
        err, rest = self._call(4, path)
        if err == -101:
            return None
        if err:
            raise RuntimeError(f"ZooKeeper getData {path}: error {err}")
        n = struct.unpack_from(">i", rest)[0]
        return rest[4:4 + n] if n >= 0 else b""

    def children(self, path):
        err, rest = self._call(8, path)
        if err == -101:
            return None
        if err:
            raise RuntimeError(f"ZooKeeper getChildren {path}: error {err}")
        n, p, out = struct.unpack_from(">i", rest)[0], 4, []
        for _ in range(n):
            m = struct.unpack_from(">i", rest, p)[0]
            out.append(rest[p + 4:p + 4 + m].decode())
            p += 4 + m
        return out

    def controller(self):
        d = self.get("/controller")
        return json.loads(d)["brokerid"] if d else -1


# ---------------------------------------------------------------- helpers

def try_metadata(addr, topics=None, timeout=5.0):
    """Metadata from one broker on a fresh connection, or None while it cannot answer."""
    try:
        c = Conn(addr, timeout=timeout)
        try:
            return c.metadata(topics)[0]
        finally:
            c.close()
    except (OSError, ConnectionError, RuntimeError, struct.error):
        return None


class GoneTracker:
    """Two optional things a wait command also times, polled from its wait loop:
    with --zk and --gone PATH, when PATH first no longer exists (a dead broker's
    /brokers/ids/<id> vanishes when ZooKeeper expires its session): "expired";
    with --kill PID, the signal is sent here (so that --since is the moment it was sent, not
    this process's start) and the moment PID no longer exists is noted: "exited"."""

    def __init__(self, args):
        self.args, self.at, self.exited = args, None, None
        self.zk = ZK(args.zk, args.chroot) if getattr(args, "gone", None) else None
        if args.kill:
            args.since = time.time()
            os.kill(args.kill, getattr(signal, "SIG" + args.signal))

    def poll(self):
        if self.zk and self.at is None and self.zk.get(self.args.gone) is None:
            self.at = elapsed(self.args)
        if self.args.kill and self.exited is None:
            try:
                os.kill(self.args.kill, 0)
            except ProcessLookupError:
                self.exited = elapsed(self.args)

    def add_to(self, res):
        if self.zk:
            self.poll()
            res["expired"] = self.at
        if self.args.kill:
            for _ in deadline_loop(self.args, f"pid {self.args.kill} to exit"):
                self.poll()
                if self.exited is not None:
                    break
                time.sleep(0.005)
            res["exited"] = self.exited
        return res


def deadline_loop(args, what):
    end = time.time() + args.timeout
    while True:
        yield
        if time.time() > end:
            die(f"timed out after {args.timeout}s waiting for {what}")


def elapsed(args):
    return round(time.time() - args.since, 4)


def out(obj):
    print(json.dumps(obj))
    sys.stdout.flush()


# ---------------------------------------------------------------- commands

def cmd_controller(args):
    out({"controller": ZK(args.zk, args.chroot).controller()})


def cmd_wait_controller(args):
    """Until /controller names a broker other than --not, then until every --brokers answers
    Metadata with that controller; with --then-offline, then until they show no partition
    (of --topic, default all) led by --not."""
    zk = ZK(args.zk, args.chroot)
    gone = GoneTracker(args)
    res = {}
    for _ in deadline_loop(args, "a new controller in ZooKeeper"):
        gone.poll()
        c = zk.controller()
        if c not in (-1, args.not_):
            res["zk"], res["controller"] = elapsed(args), c
            break
        time.sleep(POLL_S)
    pending = set(args.brokers.split(","))
    for _ in deadline_loop(args, f"brokers {pending} to report controller {res['controller']}"):
        for b in list(pending):
            md = try_metadata(b, [])
            if md and md["controller"] == res["controller"]:
                pending.discard(b)
        if not pending:
            res["metadata"] = elapsed(args)
            break
        time.sleep(MD_POLL_S)
    if args.then_offline:
        res["offline"] = wait_away(args, args.not_, True, gone)
    out(gone.add_to(res))


def cmd_wait_registered(args):
    """Until /brokers/ids lists exactly --ids, and a controller exists."""
    zk = ZK(args.zk, args.chroot)
    want = sorted(args.ids.split(","))
    for _ in deadline_loop(args, f"brokers {want} registered"):
        ids = zk.children("/brokers/ids") or []
        if sorted(ids) == want and zk.controller() != -1:
            out({"registered": elapsed(args), "controller": zk.controller()})
            return
        time.sleep(POLL_S)


def leaders_of(md, topic):
    t = md["topics"].get(topic)
    if not t or t["error"] not in (0,):
        return None
    return {p[0]: p[1] for p in t["partitions"]}


def cmd_leaders(args):
    md = try_metadata(args.broker, [args.topic] if args.topic else None)
    if md is None:
        die(f"no Metadata from {args.broker}")
    if args.topic:
        out({"controller": md["controller"], "leaders": leaders_of(md, args.topic)})
    else:
        out({"controller": md["controller"],
             "leaders": {t: {p[0]: p[1] for p in v["partitions"]} for t, v in md["topics"].items()}})


def cmd_wait_offline(args):
    """Until every --brokers reports each of --partitions of --topic with no leader."""
    parts = [int(p) for p in args.partitions.split(",")]
    pending = set(args.brokers.split(","))
    gone = GoneTracker(args)
    for _ in deadline_loop(args, f"partitions {parts} offline on {pending}"):
        gone.poll()
        for b in list(pending):
            md = try_metadata(b, [args.topic])
            ls = md and leaders_of(md, args.topic)
            if ls and all(ls.get(p) == -1 for p in parts):
                pending.discard(b)
        if not pending:
            out(gone.add_to({"offline": elapsed(args)}))
            return
        time.sleep(MD_POLL_S)


def cmd_wait_online(args):
    """Until every --brokers reports each of --partitions with a leader, then until a produce
    to each of them at its leader succeeds."""
    parts = [int(p) for p in args.partitions.split(",")]
    brokers = args.brokers.split(",")
    pending = set(brokers)
    res = {}
    for _ in deadline_loop(args, f"partitions {parts} led again on {pending}"):
        for b in list(pending):
            md = try_metadata(b, [args.topic])
            ls = md and leaders_of(md, args.topic)
            if ls and all(ls.get(p, -1) != -1 for p in parts):
                pending.discard(b)
        if not pending:
            res["leader"] = elapsed(args)
            break
        time.sleep(MD_POLL_S)
    pending = set(parts)
    last = {}
    for _ in deadline_loop(args, f"a produce to partitions {sorted(pending)} accepted ({last})"):
        md = try_metadata(brokers[0], [args.topic])
        ls = (md and leaders_of(md, args.topic)) or {}
        addr = {b[0]: f"{b[1]}:{b[2]}" for b in (md["brokers"] if md else [])}
        by_leader = {}
        for p in pending:
            if ls.get(p, -1) in addr:
                by_leader.setdefault(addr[ls[p]], []).append(p)
        for a, ps in by_leader.items():
            try:
                c = Conn(a, timeout=5)
                try:
                    for p, err in c.produce(args.topic, ps).items():
                        last[p] = err
                        if err == 0:
                            pending.discard(p)
                finally:
                    c.close()
            except (OSError, ConnectionError, RuntimeError) as ex:
                last["error"] = str(ex)
        if not pending:
            res["produce"] = elapsed(args)
            break
        time.sleep(MD_POLL_S)
    out(res)


def wait_away(args, away, offline_ok, gone):
    """Until every --brokers reports every partition of --topic (default: of every topic) led
    by a broker other than `away`: another broker, or with offline_ok no leader (-1)."""
    pending = set(args.brokers.split(","))
    bad = (away,) if offline_ok else (-1, away)
    for _ in deadline_loop(args, f"leadership of {args.topic or 'all'} away from {away}"):
        gone.poll()
        for b in list(pending):
            md = try_metadata(b, [args.topic] if args.topic else None, timeout=30)
            if md is None or any(t["error"] for t in md["topics"].values()):
                continue
            if all(p[1] not in bad for t in md["topics"].values() for p in t["partitions"]):
                pending.discard(b)
        if not pending:
            return elapsed(args)
        time.sleep(MD_POLL_S)


def cmd_wait_moved(args):
    """wait_away for --away; prints {"moved": seconds}."""
    gone = GoneTracker(args)
    out(gone.add_to({"moved": wait_away(args, args.away, args.offline_ok, gone)}))


def cmd_wait_all_leaders(args):
    """Until every --brokers answers Metadata (all topics) with at least --expect partitions,
    every one with a leader. Reports when each broker got there."""
    pending = set(args.brokers.split(","))
    res = {}
    seen = {}
    for _ in deadline_loop(args, f"{args.expect} partitions with leaders on {pending} ({seen})"):
        for b in sorted(pending):
            md = try_metadata(b, None, timeout=30)
            if md is None:
                continue
            n = sum(len(t["partitions"]) for t in md["topics"].values())
            led = sum(1 for t in md["topics"].values() for p in t["partitions"] if p[1] != -1)
            seen[b] = (n, led)
            if n >= args.expect and led == n:
                res[b] = elapsed(args)
                pending.discard(b)
        if not pending:
            res["all"] = max(res.values())
            out(res)
            return
        time.sleep(MD_POLL_S)


def cmd_create(args):
    """One CreateTopics request for --count topics named PREFIX-<i> (or PREFIX alone when
    --count is 1) to the controller; prints the request's duration."""
    md = try_metadata(args.bootstrap, [])
    if md is None:
        die(f"no Metadata from {args.bootstrap}")
    addr = {b[0]: f"{b[1]}:{b[2]}" for b in md["brokers"]}
    ctl = addr.get(md["controller"])
    if ctl is None:
        die("no controller")
    names = [args.prefix] if args.count == 1 else [f"{args.prefix}-{i}" for i in range(args.count)]
    c = Conn(ctl, timeout=args.timeout_ms / 1000 + 30)
    t0 = time.time()
    res = c.create_topics([(n, args.partitions, args.replication_factor) for n in names],
                          args.timeout_ms)
    dt = time.time() - t0
    bad = {n: v for n, v in res.items() if v[0] != 0}
    if bad:
        die(f"CreateTopics failed after {dt:.2f}s: {dict(list(bad.items())[:5])}")
    out({"create": round(dt, 4)})


def cmd_metadata_time(args):
    """Metadata for every topic from one broker, timed until the last byte of the response has
    arrived (not decoded): --reps times on one open connection, and --reps times on a new
    connection each (connect, preface, request, response)."""
    e = Enc(); e.array(None, None); e.boolean(False)
    body = e.value()

    def one(c):
        c.corr += 1
        head = struct.pack(">hhi", 1, 0, c.corr)
        c.s.sendall(struct.pack(">i", len(head) + len(body)) + head + body)
        n = struct.unpack(">i", c._recv(4))[0]
        return 4 + len(c._recv(n))

    c = Conn(args.broker, timeout=60)
    md, _ = c.metadata(None)
    parts = sum(len(t["partitions"]) for t in md["topics"].values())
    led = sum(1 for t in md["topics"].values() for p in t["partitions"] if p[1] != -1)
    open_conn = []
    for _ in range(args.reps):
        t0 = time.perf_counter()
        size = one(c)
        open_conn.append(time.perf_counter() - t0)
    c.close()
    new_conn = []
    for _ in range(args.reps):
        t0 = time.perf_counter()
        c = Conn(args.broker, timeout=60)
        one(c)
        new_conn.append(time.perf_counter() - t0)
        c.close()
    out({"partitions": parts, "led": led, "bytes": size,
         "open_connection": [round(x, 5) for x in open_conn],
         "new_connection": [round(x, 5) for x in new_conn]})


# ---------------------------------------------------------------- replication figures

def partition_state(md, topic, partition):
    """{"leader", "epoch", "replicas", "isr"} of one partition in a Metadata answer, or None."""
    t = md["topics"].get(topic) if md else None
    if not t or t["error"]:
        return None
    for p, leader, epoch, replicas, isr, err in t["partitions"]:
        if p == partition:
            return {"leader": leader, "epoch": epoch, "replicas": replicas, "isr": isr, "error": err}
    return None


def cmd_partition(args):
    st = partition_state(try_metadata(args.broker, [args.topic]), args.topic, args.partition)
    if st is None:
        die(f"no Metadata for {args.topic}-{args.partition} from {args.broker}")
    out(st)


def cmd_wait_isr(args):
    """Until every --brokers shows --topic's --partition led, with --size replicas in its ISR."""
    pending = set(args.brokers.split(","))
    seen = {}
    for _ in deadline_loop(args, f"an ISR of {args.size} on {pending} ({seen})"):
        for b in list(pending):
            st = partition_state(try_metadata(b, [args.topic]), args.topic, args.partition)
            seen[b] = st and st["isr"]
            if st and st["leader"] != -1 and len(st["isr"]) == args.size:
                pending.discard(b)
        if not pending:
            out({"isr": elapsed(args)})
            return
        time.sleep(MD_POLL_S)


def cmd_wait_new_leader(args):
    """Until every --brokers shows --topic's --partition led by a broker other than --not
    (never by none). Prints when, the new leader, its leader epoch, and "killed_at", the Unix
    time the figures run from (the moment of --kill)."""
    pending = set(args.brokers.split(","))
    gone = GoneTracker(args)
    res = {"killed_at": args.since}
    for _ in deadline_loop(args, f"a leader other than {args.not_} on {pending}"):
        gone.poll()
        for b in list(pending):
            st = partition_state(try_metadata(b, [args.topic]), args.topic, args.partition)
            if st and st["leader"] not in (-1, args.not_):
                res["new_leader"], res["epoch"] = st["leader"], st["epoch"]
                pending.discard(b)
        if not pending:
            res["leader"] = elapsed(args)
            break
        time.sleep(MD_POLL_S)
    out(gone.add_to(res))


def producer_events(path):
    """The complete JSON lines the verifiable producer has written so far."""
    with open(path) as f:
        text = f.read()
    return [json.loads(line) for line in text.split("\n")[:-1] if line.startswith("{")]


def cmd_wait_acked(args):
    """Until the verifiable producer's --events show --count acknowledged records."""
    n = 0
    for _ in deadline_loop(args, f"{args.count} acknowledgements in {args.events} (have {n})"):
        n = sum(1 for e in producer_events(args.events) if e["name"] == "producer_send_success")
        if n >= args.count:
            out({"acked": n, "after": elapsed(args)})
            return
        time.sleep(POLL_S)


def epoch_start(path, after_epoch):
    """Start offset of the first leader epoch above after_epoch in a leader-epoch-checkpoint
    (version line, count line, "epoch start_offset" lines), or None while there is none."""
    try:
        with open(path) as f:
            lines = f.read().split("\n")
    except FileNotFoundError:
        return None
    for line in lines[2:]:
        fields = line.split()
        if len(fields) == 2 and int(fields[0]) > after_epoch:
            return int(fields[1])
    return None


def cmd_wait_first_ack(args):
    """Until the verifiable producer's --events show a record acknowledged at an offset of a
    leader epoch above --after-epoch: the first write on the new leader, whatever was appended
    before it and acknowledged late. The epoch's start offset comes from the new leader's
    leader-epoch-checkpoint (--checkpoint). Prints, counted from --since: "first_ack" (that
    acknowledgement's timestamp), "last_ack_before" (the last acknowledgement before --since,
    a negative number), and how many sends failed in between."""
    start = None
    for _ in deadline_loop(args, f"an epoch above {args.after_epoch} in {args.checkpoint}"):
        start = epoch_start(args.checkpoint, args.after_epoch)
        if start is not None:
            break
        time.sleep(POLL_S)
    for _ in deadline_loop(args, f"an acknowledgement at offset {start} or above in {args.events}"):
        events = producer_events(args.events)
        first = next((e for e in events if e["name"] == "producer_send_success"
                      and e["offset"] >= start), None)
        if first:
            before = [e["timestamp"] for e in events
                      if e["name"] == "producer_send_success" and e["timestamp"] / 1000 < args.since]
            errors = sum(1 for e in events if e["name"] == "producer_send_error"
                         and args.since <= e["timestamp"] / 1000 <= first["timestamp"] / 1000)
            out({"first_ack": round(first["timestamp"] / 1000 - args.since, 3),
                 "offset": first["offset"], "epoch_start": start,
                 "last_ack_before": round(max(before) / 1000 - args.since, 3) if before else None,
                 "errors": errors})
            return
        time.sleep(POLL_S)


PERF_TOTAL = (r"(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), ([\d.]+) ms avg latency, "
              r"([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99.9th")


def cmd_perf_total(args):
    """The final line of gregor-producer-perf-test's output as JSON (latencies in ms)."""
    with open(args.file) as f:
        m = list(re.finditer(PERF_TOTAL, f.read()))
    if not m:
        die(f"no total line in {args.file}")
    g = m[-1].groups()
    out({"records": int(g[0]), "records_per_sec": float(g[1]), "mb_per_sec": float(g[2]),
         "avg": float(g[3]), "max": float(g[4]), "p50": int(g[5]), "p95": int(g[6]),
         "p99": int(g[7]), "p999": int(g[8])})


def cmd_report(args):
    """Reads the results file (lines: key TAB value TAB note) and prints a markdown table:
    one row per key, in the order of --rows (a JSON list of [key, label])."""
    vals, notes = {}, {}
    with open(args.results) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 2:
                continue
            key, v = parts[0], parts[1]
            try:
                vals.setdefault(key, []).append(float(v))
            except ValueError:
                notes.setdefault(key, []).append(v)
            if len(parts) > 2 and parts[2]:
                notes.setdefault(key, []).append(parts[2])
    rows = json.load(open(args.rows))

    def fmt(x, unit):
        if unit == "s":
            return f"{x:.2f}"
        if unit == "ms":
            return f"{x * 1000:.0f}" if x >= 0.1 else f"{x * 1000:.1f}"
        if unit in ("MiB", "KiB", "records/s", "records"):
            return f"{x:,.0f}"
        if unit == "MB/s":
            return f"{x:.2f}"
        return f"{x:g}"

    # Rows never measured (their phase was not run) are left out, and so is a heading with
    # nothing under it.
    print("| figure | unit | median | min – max | runs |")
    print("|---|---|---:|---:|---:|")
    heading = None
    for key, label, unit in rows:
        if key.startswith("#"):
            heading = f"| **{label}** | | | | |"
            continue
        v = vals.get(key)
        if not v:
            continue
        if heading:
            print(heading)
            heading = None
        med = statistics.median(v)
        rng = f"{fmt(min(v), unit)} – {fmt(max(v), unit)}" if len(v) > 1 else ""
        print(f"| {label} | {unit} | {fmt(med, unit)} | {rng} | {len(v)} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)

    def add(name, fn, *opts):
        p = sub.add_parser(name)
        p.set_defaults(fn=fn)
        p.add_argument("--timeout", type=float, default=120, help="seconds before giving up")
        p.add_argument("--since", type=float, default=None, help="Unix time the figure runs from")
        p.add_argument("--kill", type=int, help="send --signal to this PID first; --since is then")
        p.add_argument("--signal", default="KILL", choices=["KILL", "TERM"])
        for o in opts:
            o(p)
        return p

    zk = lambda p: (p.add_argument("--zk", required=True), p.add_argument("--chroot", default=""))
    zk_gone = lambda p: (p.add_argument("--zk"), p.add_argument("--chroot", default=""),
                         p.add_argument("--gone", help="znode whose disappearance is timed too"))
    brokers = lambda p: p.add_argument("--brokers", required=True, help="host:port,...")
    topic = lambda p: p.add_argument("--topic", required=True)
    parts = lambda p: p.add_argument("--partitions", required=True, help="0,1,...")

    add("controller", cmd_controller, zk)
    add("wait-controller", cmd_wait_controller, zk, brokers,
        lambda p: p.add_argument("--gone"), lambda p: p.add_argument("--topic"),
        lambda p: p.add_argument("--then-offline", action="store_true"),
        lambda p: p.add_argument("--not", dest="not_", type=int, default=-1))
    add("wait-registered", cmd_wait_registered, zk, lambda p: p.add_argument("--ids", required=True))
    add("leaders", cmd_leaders, lambda p: p.add_argument("--broker", required=True),
        lambda p: p.add_argument("--topic"))
    add("wait-offline", cmd_wait_offline, brokers, topic, parts, zk_gone)
    add("wait-online", cmd_wait_online, brokers, topic, parts)
    add("wait-moved", cmd_wait_moved, brokers, lambda p: p.add_argument("--topic"),
        lambda p: p.add_argument("--away", type=int, required=True),
        lambda p: p.add_argument("--offline-ok", action="store_true"), zk_gone)
    add("wait-all-leaders", cmd_wait_all_leaders, brokers,
        lambda p: p.add_argument("--expect", type=int, required=True))
    add("create", cmd_create, lambda p: p.add_argument("--bootstrap", required=True),
        lambda p: p.add_argument("--prefix", required=True),
        lambda p: p.add_argument("--count", type=int, default=1),
        lambda p: p.add_argument("--partitions", type=int, required=True),
        lambda p: p.add_argument("--replication-factor", type=int, default=1),
        lambda p: p.add_argument("--timeout-ms", type=int, default=120000))
    add("metadata-time", cmd_metadata_time, lambda p: p.add_argument("--broker", required=True),
        lambda p: p.add_argument("--reps", type=int, default=5))
    one_partition = lambda p: (p.add_argument("--topic", required=True),
                               p.add_argument("--partition", type=int, default=0))
    add("partition", cmd_partition, lambda p: p.add_argument("--broker", required=True), one_partition)
    add("wait-isr", cmd_wait_isr, brokers, one_partition,
        lambda p: p.add_argument("--size", type=int, required=True))
    add("wait-new-leader", cmd_wait_new_leader, brokers, one_partition, zk_gone,
        lambda p: p.add_argument("--not", dest="not_", type=int, required=True))
    add("wait-acked", cmd_wait_acked, lambda p: p.add_argument("--events", required=True),
        lambda p: p.add_argument("--count", type=int, required=True))
    add("wait-first-ack", cmd_wait_first_ack, lambda p: p.add_argument("--events", required=True),
        lambda p: p.add_argument("--checkpoint", required=True),
        lambda p: p.add_argument("--after-epoch", type=int, required=True))
    add("perf-total", cmd_perf_total, lambda p: p.add_argument("--file", required=True))
    add("report", cmd_report, lambda p: p.add_argument("--results", required=True),
        lambda p: p.add_argument("--rows", required=True))
    args = ap.parse_args()
    if args.since is None:
        args.since = time.time()
    args.fn(args)


if __name__ == "__main__":
    main()
