"""owctl config beyond the transcripts: reliability under concurrency and
SIGKILL, the catalogue of bad inputs (each: message, status, nothing
changed), lossless export/import, owctl load, and file metadata."""
import fcntl
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET

import pytest

from owctlrun import base_env, owctl_path, run


@pytest.fixture
def omerodir():
    d = tempfile.mkdtemp(prefix="owctl-cfg-")
    os.chmod(d, 0o755)
    os.makedirs(os.path.join(d, "etc", "grid"))
    os.chmod(os.path.join(d, "etc", "grid"), 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def cfg_path(d):
    return os.path.join(d, "etc", "grid", "config.xml")


def env_for(d, **kw):
    return base_env(OMERODIR=d, **kw)


def ok(args, d, **kw):
    p = run(args, env=env_for(d), **kw)
    assert p.returncode == 0, (args, p.stderr)
    return p.stdout.decode()


def values(d, profile="default"):
    """What Python's ElementTree sees, as omero-py's props_to_dict does."""
    root = ET.parse(cfg_path(d)).getroot()
    for props in root.findall("./properties"):
        if props.get("id") == profile:
            return {p.get("name"): p.get("value", "") for p in props.findall("./property")
                    if p.get("name") is not None}
    return None


def snapshot(d):
    p = cfg_path(d)
    st = os.stat(p)
    return open(p, "rb").read(), st.st_ino, st.st_mtime_ns, st.st_mode


# --- reliability ---------------------------------------------------------

def test_concurrent_writers_lose_no_update(omerodir):
    ok(["config", "set", "seed", "1"], omerodir)
    procs = []
    for w in range(8):
        script = "; ".join('"$O" config --wait 60 set w%d.k%d v%d' % (w, k, k) for k in range(25))
        procs.append(subprocess.Popen(["sh", "-c", script], env=env_for(omerodir, O=owctl_path()),
                                      stderr=subprocess.PIPE))
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    vals = values(omerodir)
    for w in range(8):
        for k in range(25):
            assert vals["w%d.k%d" % (w, k)] == "v%d" % k
    assert not os.path.exists(cfg_path(omerodir) + ".lock")


def test_sigkill_never_leaves_a_broken_file(omerodir):
    rng = random.Random(7)
    ok(["config", "set", "k0", "v0"], omerodir)
    big = "x" * 2000000
    bigfile = os.path.join(omerodir, "big.txt")
    with open(bigfile, "w") as f:
        f.write(big)
    for i in range(60):
        p = subprocess.Popen([owctl_path(), "config", "--wait", "5", "set", "-f", bigfile,
                              "k%d" % (i + 1)],
                             env=env_for(omerodir), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0, 0.004))
        p.send_signal(signal.SIGKILL)
        p.wait()
        vals = values(omerodir)  # parses, whatever the moment
        assert vals["k0"] == "v0"
        assert vals.get("k%d" % (i + 1)) in (None, big)
    leftovers = [f for f in os.listdir(os.path.dirname(cfg_path(omerodir)))
                 if f not in ("config.xml", "config.xml.lock")]
    # a killed writer may leave its temporary file, never a damaged config
    assert all(f.startswith("config.xml.owctl-") for f in leftovers)


def test_wait_for_lock(omerodir):
    ok(["config", "set", "a", "1"], omerodir)
    lock = open(cfg_path(omerodir) + ".lock", "a+")
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    before = snapshot(omerodir)
    p = run(["config", "set", "a", "2"], env=env_for(omerodir))
    assert (p.returncode, p.stderr.decode()) == (
        112, "Could not acquire lock on %s\n" % cfg_path(omerodir))
    t0 = time.time()
    p = run(["config", "--wait", "0.3", "set", "a", "2"], env=env_for(omerodir))
    assert p.returncode == 112 and time.time() - t0 >= 0.29
    assert snapshot(omerodir) == before
    waiter = subprocess.Popen([owctl_path(), "config", "--wait", "10", "set", "a", "3"],
                              env=env_for(omerodir))
    time.sleep(0.3)
    lock.close()  # releasing lets the waiter in
    assert waiter.wait(timeout=20) == 0
    assert values(omerodir)["a"] == "3"


# --- metadata ------------------------------------------------------------

def test_reads_never_rewrite(omerodir):
    ok(["config", "set", "a", "1"], omerodir)
    before = snapshot(omerodir)
    time.sleep(0.01)
    for args in (["config", "get"], ["config", "keys"], ["config", "all"], ["config", "def"],
                 ["config", "path"], ["config", "version"], ["config", "validate"],
                 ["config", "export"], ["config", "explain", "omero.web.debug"]):
        run(args, env=env_for(omerodir))
    assert snapshot(omerodir) == before


def test_writes_keep_mode_and_owner(omerodir):
    ok(["config", "set", "a", "1"], omerodir)
    os.chmod(cfg_path(omerodir), 0o640)
    os.chown(cfg_path(omerodir), 65534, 65534)
    ok(["config", "set", "b", "2"], omerodir)
    st = os.stat(cfg_path(omerodir))
    assert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (0o640, 65534, 65534)
    assert values(omerodir) == {"omero.config.version": "5.1.0", "a": "1", "b": "2"}


# --- bad inputs: message, status, nothing changed -------------------------

BAD = [
    (["config", "set", "bad key", "v"], 250, "Illegal property name: bad key\n"),
    (["config", "set", "k", "bell\x07"], 65, "owctl: cannot set 'k': the value contains the character U+0007"),
    (["config", "set", "k", b"caf\xe9"], 65, "owctl: cannot set 'k': the value is not valid UTF-8"),
    (["config", "append", "k", "not json"], 1, "owctl: 'not json' is not a JSON value"),
    (["config", "append", "t", "1"], 254, "No JSON object could be decoded\n"),
    (["config", "append", "a", "1"], 255, "Property a is not a list\n"),
    (["config", "append", "omero.web.caches", "1"], 3, "Property omero.web.caches is not a list\n"),
    (["config", "remove", "nolist", "1"], 1, "Property nolist is not defined\n"),
    (["config", "drop", "nosuch"], 1, "Unknown configuration: nosuch\n"),
    (["config", "set", "a=b"], 2, ' "=" in key name. Did you mean "...set a b"?\n'),
    (["config", "import", "/etc/hostname"], 65, "owctl: '/etc/hostname' line 1: not an owctl config export"),
    (["config", "frobnicate"], 2, "owctl config: argument <subcommand>: invalid choice: 'frobnicate'"),
    (["config", "set"], 2, "owctl config set: too few arguments\nusage: owctl config set"),
]


@pytest.mark.parametrize("args,status,msg", BAD, ids=[" ".join(map(str, b[0])) for b in BAD])
def test_bad_input_changes_nothing(omerodir, args, status, msg):
    ok(["config", "set", "a", "1"], omerodir)
    ok(["config", "set", "t", "abc"], omerodir)
    before = snapshot(omerodir)
    p = subprocess.run([owctl_path().encode()] + [a if isinstance(a, bytes) else a.encode() for a in args],
                       capture_output=True, env=env_for(omerodir))
    assert p.returncode == status, p.stderr
    assert p.stderr.decode(errors="replace").startswith(msg)
    assert p.stderr.count(b"\n") <= 2
    assert snapshot(omerodir) == before


def test_broken_xml_is_reported_and_kept(omerodir):
    with open(cfg_path(omerodir), "w") as f:
        f.write("<icegrid><properties id='x'>")
    before = snapshot(omerodir)
    for args in (["config", "get"], ["config", "set", "a", "1"]):
        p = run(args, env=env_for(omerodir))
        assert (p.returncode, p.stderr) == (113, b"no element found: line 1, column 28\n")
    assert snapshot(omerodir) == before


def test_missing_omerodir():
    env = base_env()
    p = run(["config", "get"], env=env)
    assert (p.returncode, p.stderr) == (125, b"FATAL: OMERODIR env variable not set\n")


def test_unprivileged_user(omerodir):
    ok(["config", "set", "a", "1"], omerodir)
    before = snapshot(omerodir)
    p = run(["config", "get"], env=env_for(omerodir), user="nobody")
    assert (p.returncode, p.stdout) == (0, b"a=1\n")
    p = run(["config", "set", "a", "2"], env=env_for(omerodir), user="nobody")
    assert (p.returncode, p.stderr.decode()) == (77, "Cannot modify %s\n" % cfg_path(omerodir))
    os.chmod(cfg_path(omerodir), 0o600)
    p = run(["config", "get"], env=env_for(omerodir), user="nobody")
    assert p.returncode == 113
    assert p.stderr.decode() == "[Errno 13] Permission denied: '%s'\n" % cfg_path(omerodir)
    assert snapshot(omerodir)[:3] == before[:3]


def test_load_file_with_bad_utf8(omerodir, tmp_path):
    ok(["config", "set", "a", "1"], omerodir)
    f = tmp_path / "p.txt"
    f.write_bytes(b"good=1\nbad=caf\xe9\n")
    before = snapshot(omerodir)
    p = run(["config", "load", str(f)], env=env_for(omerodir))
    assert p.returncode == 200 and b"not valid UTF-8" in p.stderr
    assert snapshot(omerodir) == before


# --- export / import -----------------------------------------------------

def random_value(rng):
    alphabet = ["a", "Z", "0", " ", "\t", "\n", "\r", "\\", "=", "#", "@", "\"", "'", "<", "&",
                "é", "日", "😀", "\ufeff", "%", "$", "{", "}", "\u2028"]
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))


def test_export_import_roundtrip_random(omerodir, tmp_path):
    rng = random.Random(42)
    expected = {}
    for prof in ("default", "web2"):
        for i in range(40):
            k = "k%d.%s" % (i, rng.choice(["x", "y-z", "_u"]))
            v = random_value(rng)
            p = run(["config", "set", "--", k, v], env=env_for(omerodir, OMERO_CONFIG=prof))
            assert p.returncode == 0, p.stderr
            expected.setdefault(prof, {})[k] = v
    # keys with characters only append can create
    ok(["config", "append", "--", "odd key=1 ", '"x"'], omerodir)
    expected["default"]["odd key=1 "] = '["x"]'
    ok(["config", "def", "web2"], omerodir)
    exp = str(tmp_path / "all.export")
    ok(["config", "export", "--all-profiles", exp], omerodir)
    assert os.stat(exp).st_mode & 0o777 == 0o600
    other = tempfile.mkdtemp(prefix="owctl-cfg2-")
    try:
        ok(["config", "set", "will.be.dropped", "1"], other)
        ok(["config", "import", "--replace", exp], other)
        for prof, kv in expected.items():
            got = values(other, prof)
            for k, v in kv.items():
                assert got[k] == v, (prof, k)
            assert set(got) == set(kv) | {"omero.config.version"}
        assert ok(["config", "def"], other) == "web2\n"
        assert ok(["config", "all"], other) == "default\nweb2\n"
        exp2 = str(tmp_path / "again.export")
        ok(["config", "export", "--all-profiles", exp2], other)
        assert open(exp, "rb").read() == open(exp2, "rb").read()
        p = run(["config", "diff", "--all-profiles", exp, cfg_path(other)], env=env_for(other))
        assert p.returncode == 0, p.stdout
    finally:
        shutil.rmtree(other, ignore_errors=True)


def test_import_merges_without_replace(omerodir, tmp_path):
    ok(["config", "set", "keep", "1"], omerodir)
    f = tmp_path / "e"
    f.write_text("# owctl config export 1\n@scope active\n@profile default\nnew=a\\tb\\x20\n")
    ok(["config", "import", str(f)], omerodir)
    assert values(omerodir) == {"omero.config.version": "5.1.0", "keep": "1", "new": "a\tb "}


def test_get_show_password_then_load_still_works(omerodir):
    """The documented (lossy) backup path keeps working for simple values."""
    ok(["config", "set", "omero.web.public.password", "s3cret"], omerodir)
    ok(["config", "set", "omero.web.prefix", "/omero"], omerodir)
    dump = ok(["config", "get", "--show-password"], omerodir)
    other = tempfile.mkdtemp(prefix="owctl-cfg2-")
    try:
        p = run(["config", "load"], env=env_for(other), stdin=dump.encode())
        assert p.returncode == 0, p.stderr
        assert ok(["config", "get", "--show-password"], other) == dump
    finally:
        shutil.rmtree(other, ignore_errors=True)


def test_diff_masks_secrets(omerodir, tmp_path):
    ok(["config", "set", "omero.web.public.password", "old-secret"], omerodir)
    ok(["config", "export", str(tmp_path / "a")], omerodir)
    ok(["config", "set", "omero.web.public.password", "new-secret"], omerodir)
    p = run(["config", "diff", str(tmp_path / "a")], env=env_for(omerodir))
    assert p.returncode == 1
    out = p.stdout.decode().split("\n", 2)[2]  # after the ---/+++ lines
    assert "secret" not in out
    assert "-omero.web.public.password=********" in out
    p = run(["config", "diff", "--show-password", str(tmp_path / "a")], env=env_for(omerodir))
    assert "+omero.web.public.password=new-secret" in p.stdout.decode()


# --- owctl load ------------------------------------------------------------

def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def test_load_atomic_applies_all_or_nothing(omerodir):
    conf = os.path.join(omerodir, "config")
    write(os.path.join(conf, "00-web.omero"),
          "config drop default\nconfig set -- omero.web.debug true\n"
          "config append -- omero.web.apps '\"omero_figure\"'\n")
    write(os.path.join(conf, "10-broken.omero"), "config append -- omero.web.debug '\"x\"'\n")
    ok(["config", "set", "manual", "1"], omerodir)
    before = snapshot(omerodir)
    p = run(["load", "--atomic", "--glob", os.path.join(conf, "*.omero")], env=env_for(omerodir))
    assert (p.returncode, p.stderr) == (255, b"Property omero.web.debug is not a list\n")
    assert snapshot(omerodir) == before
    os.remove(os.path.join(conf, "10-broken.omero"))
    ok(["load", "--atomic", "--glob", os.path.join(conf, "*.omero")], omerodir)
    assert values(omerodir) == {"omero.config.version": "5.1.0", "omero.web.debug": "true",
                                "omero.web.apps": '["omero_figure"]'}


def test_load_rejects_other_commands(omerodir):
    f = os.path.join(omerodir, "x.omero")
    write(f, "admin start\n")
    p = run(["load", f], env=env_for(omerodir))
    assert p.returncode == 2 and b"only 'config' commands" in p.stderr
