# A throw-away Redis Cluster: N redis-server masters (testenv.redis, with
# cluster-enabled yes) on free loopback ports, joined by
# `redis-cli --cluster create`, waited for until cluster_state:ok, and
# stopped by PID.
import subprocess
import time
from pathlib import Path

import redis as redis_py
from redis.cluster import ClusterNode, RedisCluster as PyRedisCluster

from testenv.redis import RedisError, start_redis

REDIS_CLI = "/usr/bin/redis-cli"


class RedisCluster:
    def __init__(self, nodes, password):
        self.nodes = nodes            # testenv.redis.RedisServer, masters
        self.password = password

    def __repr__(self):
        return "<RedisCluster %s>" % ", ".join(
            "%d:%d" % (n.pid, n.port) for n in self.nodes)

    def url(self, i=0):
        """redis://[:password@]host:port/0 of node I (a seed)."""
        return self.nodes[i].url(db=0)

    def client(self):
        """A redis-py cluster client (routes every key to its master)."""
        return PyRedisCluster(
            startup_nodes=[ClusterNode(n.host, n.port) for n in self.nodes],
            password=self.password, socket_timeout=5)

    def keys_by_node(self):
        """{port: set(keys)} read from each master on its own."""
        return {n.port: set(n.client().keys("*")) for n in self.nodes}

    def node_id(self, i):
        return self.nodes[i].client().execute_command(
            "CLUSTER", "MYID").decode()

    def stop(self, timeout=10.0):
        """Stop every node by its PID; True when none is left running."""
        for n in self.nodes:
            n.stop(timeout=timeout)
        return not any(n.alive() for n in self.nodes)


def _wait_ok(nodes, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = []
        for n in nodes:
            info = n.client().execute_command("CLUSTER", "INFO")
            states.append(b"cluster_state:ok" in info)
        if all(states):
            return
        time.sleep(0.1)
    raise RedisError("cluster not ok after %.0f s" % timeout)


def start_cluster(workdir, *, masters=3, password=None, timeout=30.0):
    """Start MASTERS cluster-enabled redis-servers under WORKDIR/nodeN,
    create the cluster (slots spread evenly, no replicas) and wait until
    every node says cluster_state:ok.  Raises RedisError; servers already
    started are stopped on failure."""
    workdir = Path(workdir)
    nodes = []
    try:
        for i in range(masters):
            nodes.append(start_redis(
                workdir / ("node%d" % i), password=password,
                extra_conf=("cluster-enabled yes",
                            "cluster-config-file nodes-%(port)d.conf",
                            "cluster-node-timeout 5000")))
        argv = [REDIS_CLI]
        if password:
            argv += ["-a", password, "--no-auth-warning"]
        argv += ["--cluster", "create"]
        argv += ["%s:%d" % (n.host, n.port) for n in nodes]
        argv += ["--cluster-replicas", "0", "--cluster-yes"]
        p = subprocess.run(argv, capture_output=True, text=True,
                           timeout=timeout)
        if p.returncode != 0:
            raise RedisError("redis-cli --cluster create failed:\n%s%s"
                             % (p.stdout[-2000:], p.stderr[-2000:]))
        _wait_ok(nodes, timeout)
    except (RedisError, redis_py.exceptions.RedisError,
            subprocess.TimeoutExpired):
        for n in nodes:
            n.stop()
        raise
    return RedisCluster(nodes, password)
