"""Compare lib/sessions/sfile with what real Django's clearsessions does.

Real Django writes session files (SessionStore, signing.dumps, the legacy
and pickle formats, hand-made edge cases), some are aged with os.utime,
then:
  * every entry is judged alone by SessionStore.clear_expired() in its own
    directory (removed / kept / crash), and compared with the verdict
    printed by tests/unit/sessions-scan;
  * on a copy of the directory without the crashing entries, the set of
    files Django's clear_expired() deletes must equal the set
    `sessions-scan --purge` deletes.

Django 3.2 is Debian 12's python3-django. Other versions are tested when
OWCTL_DJANGO_PATHS names their site-packages, e.g.
OWCTL_DJANGO_PATHS=4.2=/opt/dj42/usr/lib/python3/dist-packages:5.2=/opt/...
(sessions.md: apt-get download python3-django from trixie/sid + dpkg -x).
The sessions-scan binary is $SESSIONS_SCAN or <repo>/build*/tests/unit/.
"""
import glob
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYTHON = "/usr/bin/python3"
SECRET = "integration-secret-key-for-owctl-sessions-0123456789"
FALLBACK = "integration-fallback-key-for-owctl-sessions-9876543210"
AGE = 3600
TZ = "Europe/London"

HELPER = r'''
import base64, datetime, hashlib, hmac, json, os, pickle, random, shutil
import sys, tempfile, time, traceback

mode, dirpath = sys.argv[1], sys.argv[2]
use_tz = sys.argv[3] == "1"
serializer = sys.argv[4]
os.environ["TZ"] = "%(tz)s"
time.tzset()

import django
from django.conf import settings
settings.configure(
    SESSION_ENGINE="django.contrib.sessions.backends.file",
    SESSION_FILE_PATH=dirpath,
    SECRET_KEY="%(secret)s",
    SECRET_KEY_FALLBACKS=["%(fallback)s"],
    SESSION_COOKIE_AGE=%(age)d,
    USE_TZ=use_tz,
    TIME_ZONE="%(tz)s",
    SESSION_SERIALIZER=(
        "django.contrib.sessions.serializers.PickleSerializer"
        if serializer == "pickle" else
        "django.contrib.sessions.serializers.JSONSerializer"),
)
django.setup()
from django.contrib.sessions.backends.file import SessionStore
from django.core import signing
from django.utils.crypto import get_random_string

SALT = "django.contrib.sessions.SessionStore"
KEYCHARS = "abcdefghijklmnopqrstuvwxyz0123456789"
VERSION = django.VERSION[:2]


class PickleSer:
    def dumps(self, obj):
        return pickle.dumps(obj, pickle.HIGHEST_PROTOCOL)

    def loads(self, data):
        return pickle.loads(data)


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def tsigner(key="%(secret)s", algorithm=None):
    kw = {"key": key, "salt": SALT}
    if algorithm:
        kw["algorithm"] = algorithm
    return signing.TimestampSigner(**kw)


def signed(obj, key="%(secret)s", ser=None, compress=True, algorithm=None):
    return tsigner(key, algorithm).sign_object(
        obj, serializer=ser or signing.JSONSerializer, compress=compress)


def signed_text(text, key="%(secret)s"):
    """A validly signed payload carrying arbitrary serialized bytes."""
    return tsigner(key).sign(b64(text.encode("latin-1")))


def signed_value(value, key="%(secret)s"):
    """Signer without timestamp: "value:sig"."""
    return signing.Signer(key=key, salt=SALT).sign(value)


def legacy(serialized, key="%(secret)s"):
    k = hashlib.sha1(("django.contrib.sessionsSessionStore" + key)
                     .encode()).digest()
    h = hmac.new(k, serialized, hashlib.sha1).hexdigest()
    return base64.b64encode(h.encode() + b":" + serialized).decode()


def newkey(n=32):
    return get_random_string(n, KEYCHARS)


def create(now):
    os.makedirs(dirpath, exist_ok=True)
    manifest = {}
    old, fresh, future = -(%(age)d + 900), -60, 3600

    def put(label, content, offs=(old, fresh), name=None, may_unsure=False):
        for off in offs:
            n = name or ("sessionid" + newkey())
            p = os.path.join(dirpath, n)
            with open(p, "wb") as f:
                f.write(content if isinstance(content, bytes)
                        else content.encode("latin-1"))
            os.utime(p, ns=(int((now + off) * 1e9) + 123456789,) * 2)
            manifest[n] = {"label": "%%s@%%d" %% (label, off),
                           "may_unsure": may_unsure}

    def real(label, expiry=None, offs=(old, fresh)):
        for off in offs:
            s = SessionStore()
            s["user_id"] = 2
            s["connector"] = {"server_id": "1", "is_secure": False}
            if expiry is not None:
                s.set_expiry(expiry)
            try:
                s.save()
            except TypeError:
                return      # datetime with JSON on 3.2
            p = s._key_to_file()
            os.utime(p, ns=(int((now + off) * 1e9),) * 2)
            # a pickled _session_expiry is not decoded by owctl
            manifest[os.path.basename(p)] = {
                "label": "real %%s@%%d" %% (label, off),
                "may_unsure": serializer == "pickle" and expiry is not None}

    dt = datetime.datetime
    utc = datetime.timezone.utc
    real("plain", offs=(old, fresh, future, -(%(age)d - 120),
                        -(%(age)d + 120)))
    real("expiry 300", 300)
    real("expiry 0", 0)
    real("expiry -5", -5)
    real("expiry +1h", datetime.timedelta(hours=1))
    real("expiry -1h", datetime.timedelta(hours=-1))
    real("expiry datetime past",
         (dt.now(utc) if use_tz else dt.now()) - datetime.timedelta(days=1))

    n = dt.now(utc)
    for v in [300, -5, 0, 0.0, 1.5, -0.5, True, False, None, "", [], {},
              [1], {"a": 1}, "garbage", 10**30, -10**30, 1e308,
              (n + datetime.timedelta(days=1)).isoformat(),
              (n - datetime.timedelta(days=1)).isoformat(),
              (dt.now() + datetime.timedelta(days=1)).isoformat(),
              (dt.now() - datetime.timedelta(days=1)).isoformat(),
              "2000-01-01", "2999-01-01T00:00Z", "20990101T000000+0530",
              "2099-W10-3T10:00:00,5-01:00", "2000-W10-3T10:00:00,5-01:00",
              "2000-02-30", "2099-01-01T24:00", "2099-01-01T00:00+24:00",
              "2099-01-01T00:00+23:59:59.999999",
              "2000-01-01T00:00+00:00:00.5", "2099-01-01\u00e912:00",
              "2099-01-01T12:00\u00e9", "2021W537", "2020W537",
              "2099-01-01T12:00:00.1234567891+01:00"]:
        put("expiry %%r" %% (v,), signed({"a": 1, "_session_expiry": v}))
    # Python's json writes what jansson refuses
    put("NaN expiry", signed({"_session_expiry": float("nan")}))
    put("-inf expiry", signed({"_session_expiry": float("-inf")}))
    put("inf expiry", signed_text('{"_session_expiry":1e400}'))
    put("huge int expiry", signed_text('{"_session_expiry":-1%%s}'
                                       %% ("0" * 400)))
    put("bad huge number", signed_text('{"_session_expiry":01e400}'))
    put("NaN no expiry", signed({"a": float("nan")}))
    put("lone surrogate", signed({"a": "\ud800"}))
    put("escaped key", signed_text('{"\\u005fsession_expiry":-5}'))
    put("dup key", signed_text('{"_session_expiry":-5,'
                               '"_session_expiry":300}'))
    put("nested", signed({"a": [[[{"b": [1, 2, {"c": None}]}]]]}))
    put("list", signed([1, 2]))
    put("string", signed("x"))
    put("null", signed(None))
    put("uncompressed", signed({"a": 1}, compress=False))
    put("fallback key", signed({"_session_expiry": 300}, key="%(fallback)s"))
    put("fallback key no expiry", signed({"a": 1}, key="%(fallback)s"))
    put("other key", signed({"_session_expiry": 300}, key="another-key"))
    put("sha1", signed({"_session_expiry": 300}, algorithm="sha1"))
    put("sha1 no expiry", signed({"a": 1}, algorithm="sha1"))
    put("pickle", signed({"a": 1}, ser=PickleSer))
    put("pickle expiry", signed({"_session_expiry": 300}, ser=PickleSer),
        may_unsure=True)
    put("pickle list", signed([1, 2], ser=PickleSer), may_unsure=True)
    put("json list text", signed_text("[1,2]"))
    put("bad json", signed_text('{"a":'))
    put("latin1 json", signed_text('{"a":"\xe9"}'))
    put("ws json", signed_text(' {"_session_expiry": 300}\n'))
    put("no timestamp", signed_value(b64(b'{"a":1}')))
    put("bad timestamp", signed_value(b64(b'{"a":1}') + ":!!"))
    put("empty timestamp", signed_value(b64(b'{"a":1}') + ":"))
    put("dash timestamp", signed_value(b64(b'{"_session_expiry":300}')
                                       + ":-"))
    put("fake compressed", signed_value("." + b64(b'{"a":1}') + ":1abc"))
    # edges of owctl's key-free shortcut (djsign_no_expiry): the key's
    # text only inside a value or a nested dict, the key compressed out
    # of sight, JSON that loads only in Python, ints Python refuses
    pad = "p" * 300
    put("expiry text in value", signed({"a": "_session_expiry", "p": pad}))
    put("nested expiry key", signed({"a": {"_session_expiry": 300}}))
    put("compressed expiry -5", signed({"_session_expiry": -5, "p": pad}))
    put("compressed expiry 300", signed({"_session_expiry": 300, "p": pad}))
    put("compressed other key", signed({"p": pad}, key="another-key"))
    put("ws bad json", signed_text(' {"a":1'))
    put("control char json", signed_text('{"a":"\x01"}'))
    put("deep json", signed_text('{"a":' + "[" * 100 + "]" * 100 + "}"))
    put("escaped slash", signed_text('{"a":"\\/"}'))
    put("long int", signed_text('{"a":1%%s}' %% ("0" * 4400)))
    put("long int expiry", signed_text('{"_session_expiry":1%%s}'
                                       %% ("0" * 4400)))
    put("long float expiry", signed_text('{"_session_expiry":1.%%s}'
                                         %% ("0" * 4400)))
    rnd = random.Random(7)
    for i in range(16):
        body = "".join(rnd.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef0123-_")
                       for _ in range(i + 3))
        # random bytes: owctl does not run a pickle machine on them
        put("signed garbage %%d" %% i, signed_value(body + ":1abc"),
            may_unsure=serializer == "pickle")
    put("legacy", legacy(b'{"a":1}'))
    put("legacy expiry", legacy(b'{"_session_expiry":300}'))
    put("legacy list", legacy(b"[1]"))
    put("legacy bad json", legacy(b'{"a"'))
    put("legacy other key", legacy(b'{"_session_expiry":300}', "k"))
    put("legacy pickle", legacy(pickle.dumps({"a": 1}, 4)))
    put("garbage", "this is not a django session")
    put("newline", "\n")
    put("crlf", signed({"a": 1}) + "\r\n")
    put("nonascii", b"\xff\xfe garbage")
    put("nul", b"\x00")
    put("empty", b"")
    good = signed({"a": 1})
    put("short key", good, name="sessionidabc1234", offs=(old,))
    put("key8", good, name="sessionidabcd1234", offs=(old,))
    put("uppercase", good, name="sessionid" + newkey().upper(), offs=(old,))
    put("tempfile", good, name="sessionid" + newkey() + "_out_ab_1",
        offs=(old,))
    put("bak", good, name="sessionid" + newkey() + ".bak", offs=(old,))
    put("bare prefix", good, name="sessionid", offs=(old,))
    put("other prefix", good, name="sess_" + newkey(), offs=(old,))
    put("case prefix", good, name="SESSIONID" + newkey(), offs=(old,))
    d = os.path.join(dirpath, "sessionid" + newkey())
    os.mkdir(d)
    os.utime(d, (now + old,) * 2)
    manifest[os.path.basename(d)] = {"label": "directory",
                                     "may_unsure": False}
    outside = dirpath + ".targets"
    os.makedirs(outside, exist_ok=True)
    for label, off in [("old", old), ("fresh", fresh)]:
        t = os.path.join(outside, label)
        with open(t, "w") as f:
            f.write(good)
        os.utime(t, (now + off,) * 2)
        link = os.path.join(dirpath, "sessionid" + newkey())
        os.symlink(t, link)
        manifest[os.path.basename(link)] = {"label": "symlink " + label,
                                            "may_unsure": False}
    for label, t in [("dangling", os.path.join(outside, "missing")),
                     ("to dir", outside)]:
        link = os.path.join(dirpath, "sessionid" + newkey())
        os.symlink(t, link)
        manifest[os.path.basename(link)] = {"label": "symlink " + label,
                                            "may_unsure": False}
    print(json.dumps(manifest))


def clone_entry(src, dst):
    if os.path.islink(src):
        os.symlink(os.readlink(src), dst)
    elif os.path.isdir(src):
        os.mkdir(dst)
    else:
        shutil.copy2(src, dst)


def judge():
    """Each entry alone, like the golden vectors were recorded."""
    result = {}
    for name in sorted(os.listdir(dirpath)):
        with tempfile.TemporaryDirectory() as one:
            clone_entry(os.path.join(dirpath, name), os.path.join(one, name))
            SessionStore._storage_path = one
            try:
                SessionStore.clear_expired()
            except Exception as e:
                result[name] = "crash"
                continue
            result[name] = ("kept" if os.path.lexists(os.path.join(one, name))
                            else "removed")
    print(json.dumps(result))


if mode == "create":
    create(float(sys.argv[5]))
elif mode == "judge":
    judge()
elif mode == "clear":
    SessionStore.clear_expired()
'''


def scan_binary():
    env = os.environ.get("SESSIONS_SCAN")
    if env:
        return env
    if os.environ.get("OWCTL_BUILD"):
        b = os.environ["OWCTL_BUILD"]
        b = b if os.path.isabs(b) else str(ROOT / b)
        p = os.path.join(b, "tests", "unit", "sessions-scan")
        if not os.path.exists(p):
            pytest.fail("sessions-scan not built in %s" % b)
        return p
    found = sorted(glob.glob(str(ROOT / "build*" / "tests" / "unit" /
                                 "sessions-scan")))
    if not found:
        pytest.fail("sessions-scan not built: set SESSIONS_SCAN or build "
                    "tests/unit/sessions-scan under <repo>/build*")
    return found[0]


def targets():
    found = [("3.2", None)]
    spec = os.environ.get("OWCTL_DJANGO_PATHS", "")
    for item in filter(None, spec.split(":")):
        ver, _, path = item.partition("=")
        found.append((ver, path))
    out = []
    for ver, path in found:
        default_tz = ver >= "5"
        for use_tz in (default_tz, not default_tz):
            out.append((ver, path, use_tz, "json"))
        if ver < "5":
            out.append((ver, path, default_tz, "pickle"))
    return out


TARGETS = targets()


def run_helper(helper, path, args):
    env = dict(os.environ, TZ=TZ)
    if path:
        env["PYTHONPATH"] = path
    proc = subprocess.run([PYTHON, str(helper)] + args, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def scan(binary, version, use_tz, serializer, directory, extra=()):
    args = [binary, "--django", version, "--secret", SECRET,
            "--secret", FALLBACK, "--age", str(AGE), "--now",
            "%.6f" % time.time(), "--time-zone", TZ,
            "--use-tz", "1" if use_tz else "0"]
    if serializer == "pickle":
        args.append("--pickle")
    proc = subprocess.run(args + list(extra) + [str(directory)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    out = {}
    for line in proc.stdout.splitlines():
        name, verdict, reason, outcome = line.split("\t")
        out[name] = (verdict, reason, outcome)
    return out


@pytest.mark.parametrize(
    "version,path,use_tz,serializer", TARGETS,
    ids=["django%s-%s-usetz%d" % (t[0], t[3], t[2]) for t in TARGETS])
def test_sessions_scan_matches_django(tmp_path, version, path, use_tz,
                                      serializer):
    binary = scan_binary()
    helper = tmp_path / "helper.py"
    helper.write_text(HELPER % {"secret": SECRET, "fallback": FALLBACK,
                                "age": AGE, "tz": TZ})
    src = tmp_path / "src"
    common = ["1" if use_tz else "0", serializer]
    manifest = json.loads(run_helper(
        helper, path, ["create", str(src)] + common + ["%.6f" % time.time()]))
    ours = scan(binary, version, use_tz, serializer, src)
    django_verdicts = json.loads(run_helper(helper, path,
                                            ["judge", str(src)] + common))

    assert set(ours) == set(django_verdicts)
    want = {"expired": "removed", "crash": "crash", "live": "kept",
            "not-session": "kept"}
    mismatches, unsure = [], []
    for name, real in sorted(django_verdicts.items()):
        verdict, reason, _ = ours[name]
        label = manifest.get(name, {}).get("label", name)
        if verdict == "unsure":
            unsure.append(label)
            if not manifest.get(name, {}).get("may_unsure"):
                mismatches.append((label, real, verdict, reason))
            continue
        if want[verdict] != real:
            mismatches.append((label, real, verdict, reason))
    assert not mismatches, "\n".join(map(repr, mismatches))
    counts = {v: sum(1 for x in django_verdicts.values() if x == v)
              for v in ("removed", "kept", "crash")}
    assert counts["removed"] >= 20 and counts["kept"] >= 20, counts
    if version == "3.2" or not use_tz:
        assert counts["crash"] >= 3, counts

    # Whole directory without the crashing entries (they abort Django's
    # run) and the ones owctl calls unsure (it never removes them): both
    # tools must delete the same files.
    for d in ("django", "owctl"):
        shutil.copytree(src, tmp_path / d, symlinks=True)
        for name, real in django_verdicts.items():
            if real == "crash" or ours[name][0] == "unsure":
                (tmp_path / d / name).unlink()
    run_helper(helper, path, ["clear", str(tmp_path / "django")] + common)
    purged = scan(binary, version, use_tz, serializer, tmp_path / "owctl",
                  ["--purge"])
    assert sorted(os.listdir(tmp_path / "owctl")) == \
        sorted(os.listdir(tmp_path / "django"))
    removed = {n for n, v in purged.items() if v[2] == "removed"}
    assert removed == {n for n, v in django_verdicts.items()
                       if v == "removed" and ours[n][0] != "unsure"}
