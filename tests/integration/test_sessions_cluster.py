"""owctl sessions on a REAL Redis Cluster (3 redis-server masters made by
`redis-cli --cluster create`, testenv.rediscluster) and on a primary with
a replica (Django's RedisCache with several LOCATIONs).

Sessions are written by real Django (python3-django + python3-django-redis)
through django-redis with a cluster REDIS_CLIENT_CLASS, the way users run
Django on a cluster (django-redis has no cluster client of its own), so
the keys are spread over every master by their hash slot.  owctl must
count, list and clear the session keys on every master and touch nothing
else; with a slot half migrated between two masters it must follow the
MOVED and ASK replies.  Every redis-server is stopped by its PID.
"""
import json
import os
import random
import subprocess
import time

import pytest

from owctlrun import base_env, run
from testenv.configxml import write_config
from testenv.rediscluster import start_cluster

PYTHON = "/usr/bin/python3"
KEYCHARS = "abcdefghijklmnopqrstuvwxyz0123456789"
PASSWORD = "cl-s3cret"
PREFIX, VERSION = "omero", 2
SESSION = "%s:%d:django.contrib.sessions.cache" % (PREFIX, VERSION)
CLIENT_CLASS = "owctl_cluster_client.ClusterClient"

# What django-redis users write to use Redis Cluster (django-redis has no
# cluster client; jazzband/django-redis#606): redis-py's RedisCluster fed
# from the connection pool django-redis built for LOCATION.
CLUSTER_CLIENT = '''
from redis.cluster import RedisCluster


class ClusterClient(RedisCluster):
    def __init__(self, connection_pool=None, **kwargs):
        kw = connection_pool.connection_kwargs
        super().__init__(host=kw["host"], port=kw["port"],
                         password=kw.get("password"), **kwargs)
'''

# Real Django writes sessions through the cache engine: argv = caches JSON,
# then "make N" or "load KEY...".
DJANGO = r'''
import json, sys
import django
from django.conf import settings
settings.configure(
    CACHES=json.loads(sys.argv[1]),
    SESSION_ENGINE="django.contrib.sessions.backends.cache",
    SECRET_KEY="cluster-test-secret-key-0123456789-abcdefghijklmnop",
    SESSION_COOKIE_AGE=3600)
django.setup()
from django.contrib.sessions.backends.cache import SessionStore
out = {"django": django.get_version()}
if sys.argv[2] == "make":
    keys = []
    for i in range(int(sys.argv[3])):
        s = SessionStore()
        s["user_id"] = i
        if i % 3 == 1:
            s.set_expiry(300)
        elif i % 3 == 2:
            s.set_expiry(0)
        s.save()
        keys.append(s.session_key)
    out["keys"] = keys
else:
    out["loaded"] = {k: SessionStore(session_key=k).load()
                     for k in sys.argv[3:]}
print(json.dumps(out))
'''


def owctl(omerodir, *args):
    return run(list(args), env=base_env(OMERODIR=str(omerodir)))


def rkey(rnd, n=32):
    return "".join(rnd.choice(KEYCHARS) for _ in range(n))


def django_run(tmp_path, caches, *args, pythonpath=None):
    (tmp_path / "owctl_cluster_client.py").write_text(CLUSTER_CLIENT)
    env = dict(os.environ)
    env["PYTHONPATH"] = ":".join(filter(None, [pythonpath, str(tmp_path)]))
    p = subprocess.run([PYTHON, "-c", DJANGO, json.dumps(caches)] +
                       [str(a) for a in args], capture_output=True,
                       text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout.strip().splitlines()[-1])


@pytest.fixture
def cluster(tmp_path):
    c = start_cluster(tmp_path / "cluster", masters=3, password=PASSWORD)
    yield c
    pids = [n.pid for n in c.nodes]
    assert c.stop(), "a cluster node outlived stop()"
    for pid in pids:
        assert not os.path.exists("/proc/%d" % pid) or \
            open("/proc/%d/stat" % pid).read().split()[2] == "Z"


def cluster_caches(c, seed=0, **extra):
    conf = {"BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": c.url(seed), "KEY_PREFIX": PREFIX,
            "VERSION": VERSION,
            "OPTIONS": {"REDIS_CLIENT_CLASS": CLIENT_CLASS}}
    conf.update(extra)
    return {"default": conf}


def configure(omerodir, caches):
    write_config(omerodir, {
        "omero.web.session_engine": "django.contrib.sessions.backends.cache",
        "omero.web.caches": json.dumps(caches)})


def other_keys(rnd, n):
    """Keys that look like sessions but are not this cache's."""
    out = []
    for _ in range(n):
        k = rkey(rnd)
        out += ["%s:1:django.contrib.sessions.cache%s" % (PREFIX, k),
                ":%d:django.contrib.sessions.cache%s" % (VERSION, k),
                "%s:%d:django.contrib.sessions.cached_db%s" % (PREFIX,
                                                               VERSION, k),
                "%s:%d:unrelated:%s" % (PREFIX, VERSION, k),
                SESSION + k.upper()]
    return out + [SESSION + "short", SESSION + "[glob]" + "a" * 32, "plain"]


def test_cluster_sessions_on_every_master(cluster, omerodir, tmp_path):
    rnd = random.Random(5)
    caches = cluster_caches(cluster, seed=1)
    made = django_run(tmp_path, caches, "make", 60)
    sessions = {(SESSION + k).encode() for k in made["keys"]}
    rc = cluster.client()
    for k in other_keys(rnd, 40):
        rc.set(k, b"x", ex=3600)
    rc.set("no-ttl-key", b"1")
    before = cluster.keys_by_node()
    # Django's keys really are spread over the three masters
    assert len(before) == 3
    for port, keys in before.items():
        assert keys & sessions, "no session on master %d" % port
    assert set().union(*before.values()) >= sessions
    configure(omerodir, caches)

    r = owctl(omerodir, "sessions", "info", "--json")
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert PASSWORD not in out and "***" in out
    info = json.loads(out)
    assert info["sessions"] == len(sessions)
    assert info["db_keys"] == sum(len(k) for k in before.values())
    masters = info["cluster"]["masters"]
    assert sorted(int(m.rsplit(":", 1)[1]) for m in masters) == \
        sorted(before)
    r = owctl(omerodir, "sessions", "info")
    assert r.returncode == 0 and b"Redis Cluster, 3 masters" in r.stdout

    r = owctl(omerodir, "sessions", "list", "--json")
    assert r.returncode == 0, r.stderr
    listed = json.loads(r.stdout)["sessions"]
    assert len(listed) == len(sessions)
    assert len({x["server"] for x in listed}) == 3
    assert all(0 < x["expires_in"] <= 3600 for x in listed)

    r = owctl(omerodir, "sessions", "purge-expired")
    assert r.returncode == 0 and b"nothing to do" in r.stdout
    r = owctl(omerodir, "sessions", "clear", "--dry-run", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["found"] == len(sessions)
    assert cluster.keys_by_node() == before

    r = owctl(omerodir, "sessions", "clear", "--yes", "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["removed"] == res["found"] == len(sessions)
    assert res["cluster"]["passes"] == 1
    after = cluster.keys_by_node()
    for port in before:
        assert after[port] == before[port] - sessions, port
    # Django itself no longer finds any of them
    loaded = django_run(tmp_path, caches, "load", *made["keys"][:10])
    assert loaded["loaded"] == {k: {} for k in made["keys"][:10]}
    r = owctl(omerodir, "sessions", "info", "--json")
    assert json.loads(r.stdout)["sessions"] == 0


def keys_in_slot(slot, n, rnd, make):
    from redis.crc import key_slot
    out = []
    while len(out) < n:
        k = make(rkey(rnd))
        if key_slot(k.encode()) == slot:
            out.append(k)
    return out


def test_cluster_follows_moved_and_ask(cluster, omerodir):
    """A slot half migrated from master A to master B: A still owns it
    (MIGRATING), B holds some of its keys (IMPORTING).  SCAN on B lists
    them, UNLINK there answers MOVED to A, A answers ASK back to B."""
    rnd = random.Random(11)
    a, b = cluster.nodes[0], cluster.nodes[1]
    ca, cb = a.client(), b.client()
    slot = 100                  # --cluster create gives 0-5460 to A
    mine = [ln for ln in ca.execute_command("CLUSTER", "NODES").decode()
            .splitlines() if "myself" in ln][0]
    assert " 0-5460" in mine
    sess = keys_in_slot(slot, 12, rnd, lambda k: SESSION + k)
    others = keys_in_slot(slot, 4, rnd,
                          lambda k: "%s:%d:unrelated:%s" % (PREFIX, VERSION,
                                                             k))
    for k in sess + others:
        ca.set(k, b"x", ex=3600)
    rc = cluster.client()
    spread = [SESSION + rkey(rnd) for _ in range(30)]
    for k in spread:
        rc.set(k, b"y", ex=3600)
    ida, idb = cluster.node_id(0), cluster.node_id(1)
    cb.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", ida)
    ca.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", idb)
    moved = sess[:6] + others[:2]
    ca.execute_command("MIGRATE", b.host, b.port, "", 0, 5000, "AUTH",
                       PASSWORD, "KEYS", *moved)
    assert {k.decode() for k in cb.keys("*")} >= set(moved)
    configure(omerodir, cluster_caches(cluster, seed=2))
    before = set().union(*cluster.keys_by_node().values())

    r = owctl(omerodir, "sessions", "info", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["sessions"] == len(sess) + len(spread)
    r = owctl(omerodir, "sessions", "clear", "--yes", "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["removed"] == len(sess) + len(spread)
    # MOVED (B -> A), then ASK (A -> B) for each of the 6 moved sessions
    assert res["cluster"]["redirects"] == 12
    after = set().union(*cluster.keys_by_node().values())
    assert before - after == {k.encode() for k in sess + spread}
    assert {k.encode() for k in others} <= after


def test_cluster_db_and_unreachable(cluster, omerodir):
    configure(omerodir, cluster_caches(cluster, LOCATION=cluster.url(0)
                                       .replace("/0", "/3")))
    r = owctl(omerodir, "sessions", "info")
    assert r.returncode == 69, r.stderr
    assert b"SELECT" in r.stderr and PASSWORD.encode() not in r.stderr
    # a master that is down: the run fails, naming it, and removes nothing
    configure(omerodir, cluster_caches(cluster))
    rc = cluster.client()
    rc.set(SESSION + "a" * 32, b"x", ex=60)
    victim = cluster.nodes[2]
    victim.stop()
    r = owctl(omerodir, "sessions", "clear", "--yes")
    assert r.returncode == 69
    assert ("127.0.0.1:%d" % victim.port).encode() in r.stderr


# --- primary + replica (not a cluster) ------------------------------------------

def django_paths():
    out = []
    for item in filter(None, os.environ.get("OWCTL_DJANGO_PATHS",
                                            "").split(":")):
        ver, _, path = item.partition("=")
        out.append((ver, path))
    return out


@pytest.mark.parametrize("ver,path", django_paths() or [("4.2/5.2", None)])
def test_django_rediscache_primary_and_replica(redis_factory, omerodir,
                                               tmp_path, ver, path):
    """Django's RedisCache with LOCATION "primary;replica": Django writes
    to the first server only (reads may go to the others); owctl scans
    and unlinks on the primary and never talks to the replica, which
    follows by replication."""
    if path is None:
        pytest.fail("OWCTL_DJANGO_PATHS not set (scripts/run-tests sets it "
                    "from scripts/fetch-django)")
    primary = redis_factory()
    replica = redis_factory()
    rep = replica.client()
    rep.execute_command("REPLICAOF", primary.host, primary.port)
    deadline = time.monotonic() + 20
    while rep.info("replication").get("master_link_status") != "up":
        assert time.monotonic() < deadline, "replica never synced"
        time.sleep(0.05)
    caches = {"default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "%s;%s" % (primary.url(2), replica.url(2)),
        "KEY_PREFIX": PREFIX, "VERSION": VERSION}}
    made = django_run(tmp_path, caches, "make", 20, pythonpath=path)
    assert made["django"].startswith(ver)
    p2, r2 = primary.client(db=2), replica.client(db=2)
    p2.set("unrelated", b"1")
    sessions = {(SESSION + k).encode() for k in made["keys"]}
    assert set(p2.keys("*")) == sessions | {b"unrelated"}
    configure(omerodir, caches)
    r = owctl(omerodir, "sessions", "info")
    assert r.returncode == 0, r.stderr
    assert b"replica, not touched" in r.stdout
    assert b"sessions     20 " in r.stdout
    r = owctl(omerodir, "sessions", "clear", "--yes")
    assert r.returncode == 0, r.stderr
    assert b"removed 20 session keys" in r.stdout
    assert set(p2.keys("*")) == {b"unrelated"}
    deadline = time.monotonic() + 10
    while set(r2.keys("*")) != {b"unrelated"}:
        assert time.monotonic() < deadline, "the replica kept sessions"
        time.sleep(0.05)
    stats = rep.info("commandstats")
    assert "cmdstat_scan" not in stats and "cmdstat_dbsize" not in stats
    loaded = django_run(tmp_path, caches, "load", *made["keys"][:5],
                        pythonpath=path)
    assert loaded["loaded"] == {k: {} for k in made["keys"][:5]}
