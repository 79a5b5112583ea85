# Gregor in containers, on Debian bookworm as everywhere else. Three targets:
#   zookeeper  Debian's Apache ZooKeeper package, started by bin/zookeeper-server-start.sh
#   build      compiles the broker and the tools (Release) with the packages bin/lib/deps.sh installs
#   broker     (the default) gregor-server and the tools with only their runtime libraries
# The zookeeper stage comes first: the classic builder (docker-compose's) builds every stage up
# to the target, so building the ZooKeeper image never compiles Gregor.
# docker-compose.yml runs ZooKeeper and three brokers from these; README.md, "Running in
# containers", says how to reach them.

FROM debian:bookworm AS zookeeper
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends zookeeper \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/gregor
COPY bin/ bin/
# config/zookeeper.properties binds 127.0.0.1 for a single machine; in a container ZooKeeper
# must answer on the container's network. The data directory is a subdirectory (the volume):
# the package's /var/lib/zookeeper holds a placeholder myid that ZooKeeper refuses to start with.
RUN mkdir -p config && printf '%s\n' \
      'dataDir=/var/lib/zookeeper/data' 'clientPort=2181' 'maxClientCnxns=0' \
      'admin.enableServer=false' '4lw.commands.whitelist=ruok,srvr,stat' 'tickTime=2000' \
      > config/zookeeper.properties \
 && install -d -o zookeeper -g zookeeper /var/lib/zookeeper/data
ENV GREGOR_LOG_DIR=/var/log/zookeeper
USER zookeeper
EXPOSE 2181
CMD ["bin/zookeeper-server-start.sh", "config/zookeeper.properties"]

FROM debian:bookworm AS build
# Only what building gregor-server and the tools needs; gtest because CMake configures tests/.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      g++ cmake make pkg-config \
      libspdlog-dev libfmt-dev nlohmann-json3-dev libcli11-dev libgtest-dev libgmock-dev \
      libasio-dev libzookeeper-mt-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DGREGOR_WERROR=OFF -DGREGOR_BENCH=OFF \
      -DGREGOR_INTEGRATION_TESTS=OFF \
 && cmake --build build -j"$(nproc)" --target gregor-server \
 && make -C build/admin-cli -j"$(nproc)"

FROM debian:bookworm AS broker
# What `ldd gregor-server` and the tools name beyond libc and libstdc++.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libzookeeper-mt2 libspdlog1.10 libfmt9 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home-dir /var/lib/gregor --create-home gregor
WORKDIR /opt/gregor
COPY bin/ bin/
COPY config/ config/
# Where bin/*.sh look for the binaries: build/ beside bin/.
COPY --from=build /src/build/broker/gregor-server build/broker/
COPY --from=build /src/build/admin-cli/gregor-* build/admin-cli/
RUN mkdir -p logs && chown gregor: logs
USER gregor
# Without -daemon the start script execs gregor-server, so SIGTERM from `docker stop` reaches
# the broker itself and it shuts down cleanly.
CMD ["bin/gregor-server-start.sh", "config/server.properties", \
     "--override", "listeners=PLAINTEXT://:9092", "--override", "log.dirs=/var/lib/gregor/data"]
