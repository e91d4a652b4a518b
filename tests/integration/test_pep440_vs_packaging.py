"""lib/base/pep440.c against the real thing: Debian's python3-packaging
(packaging.version.Version, packaging.specifiers.SpecifierSet,
packaging.utils.canonicalize_version) must agree with
tests/unit/pep440-cmp on thousands of generated versions, orderings and
specifier sets (fixed seeds).  The helper is looked up in $OWCTL_BUILD
(default "build").
"""

import itertools
import os
import random
import subprocess
from pathlib import Path

import pytest
import packaging
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_version
from packaging.version import InvalidVersion, Version

REPO = Path(__file__).resolve().parents[2]
SEED = 440


def helper():
    build = Path(os.environ.get("OWCTL_BUILD", "build"))
    if not build.is_absolute():
        build = REPO / build
    exe = build / "tests" / "unit" / "pep440-cmp"
    if not os.access(exe, os.X_OK):
        pytest.fail(f"{exe} not built (set OWCTL_BUILD to the meson build dir)")
    return exe


def run_helper(records, nout):
    """records: lists of str fields; returns one list of NOUT fields each."""
    data = b"".join(f.encode() + b"\0" for rec in records for f in rec)
    proc = subprocess.run([helper()], input=data, capture_output=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr.decode()
    fields = proc.stdout.split(b"\0")
    assert fields.pop() == b""
    fields = [f.decode() for f in fields]
    assert len(fields) == len(records) * nout
    return [fields[i:i + nout] for i in range(0, len(fields), nout)]


def test_packaging_is_debian_23():
    # The oracle must be the documented one.
    assert packaging.__version__.split(".")[0] == "23", packaging.__version__


# --- generators --------------------------------------------------------------

SEPS = ["", "", "", ".", "-", "_"]
PRE = ["a", "b", "c", "rc", "alpha", "beta", "pre", "preview", "A", "RC",
       "Alpha", "PREVIEW", "Pre"]
POST = ["post", "rev", "r", "POST", "Rev", "R"]
WS = ["", "", "", "", " ", "\t", "\n", "  ", "\r\n", "\x0b", "\x1c"]


def num(rng):
    return rng.choice(["0", "1", "2", "9", "10", "00", "01", "007", "123",
                       "99999999999999999999999", str(rng.randint(0, 30))])


def gen_version(rng):
    parts = [rng.choice(WS)]
    if rng.random() < 0.1:
        parts.append(rng.choice(["v", "V"]))
    if rng.random() < 0.15:
        parts.append(num(rng) + "!")
    parts.append(".".join(num(rng) for _ in range(rng.choice([1, 1, 2, 2, 3, 3, 4, 5]))))
    if rng.random() < 0.4:
        parts.append(rng.choice(SEPS) + rng.choice(PRE) + rng.choice(SEPS)
                     + (num(rng) if rng.random() < 0.8 else ""))
    if rng.random() < 0.3:
        if rng.random() < 0.3:
            parts.append("-" + num(rng))
        else:
            parts.append(rng.choice(SEPS) + rng.choice(POST) + rng.choice(SEPS)
                         + (num(rng) if rng.random() < 0.7 else ""))
    if rng.random() < 0.3:
        parts.append(rng.choice(SEPS) + rng.choice(["dev", "DEV", "Dev"])
                     + rng.choice(SEPS) + (num(rng) if rng.random() < 0.7 else ""))
    if rng.random() < 0.2:
        segs = [rng.choice(["abc", "1", "007", "ubuntu", "Z9", "0", "x-y",
                            "deb12u1", "12"]) for _ in range(rng.randint(1, 3))]
        parts.append("+" + rng.choice(["", ".", "-", "_"]).join(segs)
                     if rng.random() < 0.5 else "+" + ".".join(segs))
    parts.append(rng.choice(WS))
    return "".join(parts)


JUNK = list("0123456789.-_+!*vabcdeilnoprstvwxz ") + ["", "..", "--", "+", "a1"]


def mutate(rng, s):
    s = list(s)
    for _ in range(rng.randint(1, 3)):
        op = rng.random()
        i = rng.randint(0, len(s))
        if op < 0.4:
            s.insert(i, rng.choice(JUNK))
        elif op < 0.7 and s:
            del s[min(i, len(s) - 1)]
        elif s:
            s[min(i, len(s) - 1)] = rng.choice(JUNK)
    return "".join(s)


HAND = [
    "1.0", "1.0.0", "1", "v1.0", "V1.0", " 1.0 ", "1.0\n", "1!1.0", "0!1.0",
    "1.0a", "1.0a1", "1.0.a.1", "1.0-a-1", "1.0_a_1", "1.0alpha1", "1.0beta",
    "1.0c1", "1.0pre1", "1.0preview1", "1.0rc", "1.0RC1", "1.0a-1", "1.0a.post1",
    "1.0-1", "1.0-0", "1.0.post", "1.0post1", "1.0.rev1", "1.0r", "1.0-r1",
    "1.0.dev", "1.0dev1", "1.0-dev-1", "1.0a1.dev1", "1.0.post1.dev1",
    "1.0+abc", "1.0+ABC.5", "1.0+abc.007", "1.0+1.2.3", "1.0+a-b_c.d",
    "1.0+", "1.0+-a", "1.0+a..b", "1.0.", ".1.0", "1..0", "1.0.*", "1.0-",
    "1.0a-", "1.0post-", "1.0re", "1.0rc1rc2", "1.0.post1.post2", "", " ",
    "v", "1!", "!1", "1.0-dev", "1.0_post_1", "1.0---1", "1.0a1-1",
    "00.01.002", "1.0.0.0.0.0", "1.0rev", "1.0pre", "1.0prev", "1.0c",
    "1.0alpha", "1.0.preview", "1.0-preview-3", "1.0\x1c", "1.0\x0c",
    "1.0\x85", "1.0\xa0", "1.0a\t1", "1.0 a1", "١.٠", "1.0+\u212a",
]


def version_pool(seed, n):
    rng = random.Random(seed)
    pool = list(HAND)
    while len(pool) < n:
        v = gen_version(rng)
        pool.append(mutate(rng, v) if rng.random() < 0.35 else v)
    return pool


def ascii_only(s):
    return all(ord(c) < 128 for c in s)


# --- versions ----------------------------------------------------------------

def py_version(s):
    try:
        v = Version(s)
    except InvalidVersion:
        return ["err", "", "", "", "", ""]
    return ["ok", str(v), canonicalize_version(s),
            canonicalize_version(s, strip_trailing_zero=False),
            "1" if v.is_prerelease else "0", "1" if v.is_postrelease else "0"]


def test_versions_match_packaging():
    pool = version_pool(SEED, 6000)
    got = run_helper([["V", s] for s in pool], 6)
    bad = []
    nvalid = 0
    for s, ours in zip(pool, got):
        want = py_version(s)
        if not ascii_only(s):
            # Documented: only ASCII is accepted (packaging also takes
            # Unicode whitespace and case-folding look-alikes).
            assert ours[0] == "err", (s, ours)
            continue
        nvalid += want[0] == "ok"
        if ours != want:
            bad.append((s, want, ours))
    assert not bad, "%d mismatches, first: %r" % (len(bad), bad[:5])
    # The generator must exercise both sides.
    assert 2000 < nvalid < len(pool) - 500, nvalid


def test_ordering_matches_packaging():
    rng = random.Random(SEED + 1)
    valid = []
    for s in version_pool(SEED + 2, 4000):
        try:
            Version(s)
        except InvalidVersion:
            continue
        if ascii_only(s):
            valid.append(s)
    # Neighbours are the interesting pairs: sort, then pair nearby items.
    valid.sort(key=Version)
    pairs = []
    for i, a in enumerate(valid):
        for d in (0, 1, 2, rng.randint(1, 50)):
            pairs.append((a, valid[min(i + d, len(valid) - 1)]))
        pairs.append((a, rng.choice(valid)))
    got = run_helper([["C", a, b] for a, b in pairs], 1)
    bad = []
    neq = 0
    for (a, b), (ours,) in zip(pairs, got):
        va, vb = Version(a), Version(b)
        want = str((va > vb) - (va < vb))
        neq += want == "0" and a != b
        if ours != want:
            bad.append((a, b, want, ours))
    assert not bad, "%d mismatches, first: %r" % (len(bad), bad[:5])
    assert len(pairs) > 10000 and neq > 50, (len(pairs), neq)


def test_known_order():
    # The PEP 440 example ordering, shuffled, sorted by the C side.
    order = ["1.0.dev456", "1.0a1", "1.0a2.dev456", "1.0a12.dev456", "1.0a12",
             "1.0b1.dev456", "1.0b2", "1.0b2.post345.dev456", "1.0b2.post345",
             "1.0rc1.dev456", "1.0rc1", "1.0", "1.0+abc.5", "1.0+abc.7",
             "1.0+5", "1.0.post456.dev34", "1.0.post456", "1.0.15", "1.1.dev1",
             "1!0.1"]
    pairs = list(itertools.combinations(range(len(order)), 2))
    got = run_helper([["C", order[i], order[j]] for i, j in pairs], 1)
    for (i, j), (ours,) in zip(pairs, got):
        assert ours == "-1", (order[i], order[j], ours)


# --- specifiers --------------------------------------------------------------

OPS = ["==", "!=", "<=", ">=", "<", ">", "~=", "==="]


def gen_spec(rng, versions):
    op = rng.choice(OPS + ["==", ">=", "<"])
    v = rng.choice(versions).strip()
    r = rng.random()
    if r < 0.15 and op in ("==", "!="):
        rel = v.split("+")[0]
        cut = rel.split(".")
        v = ".".join(cut[:rng.randint(1, len(cut))]) + ".*"
    elif r < 0.2:
        v = mutate(rng, v)
    return rng.choice(["", " ", "  "]) + op + rng.choice(["", "", " "]) + v + \
        rng.choice(["", "", " "])


def gen_specset(rng, versions):
    n = rng.choice([0, 1, 1, 1, 2, 2, 3])
    items = [gen_spec(rng, versions) for _ in range(n)]
    if rng.random() < 0.1:
        items.insert(rng.randint(0, len(items)), rng.choice(["", " "]))
    return ",".join(items)


def near_versions(rng, base):
    """Versions around BASE: the interesting cases for every operator."""
    out = [base]
    v = Version(base)
    rel = list(v.release)
    for i in range(len(rel)):
        for d in (-1, 1):
            r = rel[:]
            r[i] = max(0, r[i] + d)
            out.append(".".join(map(str, r)))
    b = ".".join(map(str, rel))
    ep = "%d!" % v.epoch if v.epoch else ""
    out += [ep + b + s for s in ("a1", "rc1", ".dev0", ".post1", "+local.1",
                                 ".0", ".0.0", ".1", "a1.dev1", ".post1.dev2",
                                 ".post0+x", "+1")]
    out.append(ep + ".".join(map(str, rel[:-1] or [0])) + ".9")
    return out


def py_contains(specs, ver, pre):
    try:
        ss = SpecifierSet(specs)
    except InvalidSpecifier:
        return ["badspec", ""]
    try:
        v = Version(ver)
    except InvalidVersion:
        return ["badversion", str(ss)]
    kw = {} if pre == -1 else {"prereleases": bool(pre)}
    try:
        r = ss.contains(v, **kw)
    except InvalidVersion:
        return ["raise", str(ss)]
    return ["1" if r else "0", str(ss)]


def order_dependent(specs, pre):
    """packaging evaluates any(s.prereleases) over a set in hash order: a
    "===" naming a non-version raises only if reached first."""
    if pre != -1:
        return False
    try:
        ss = list(SpecifierSet(specs))
    except InvalidSpecifier:
        return False
    bad = 0
    for s in ss:
        if s.operator == "===":
            try:
                Version(s.version)
            except InvalidVersion:
                bad += 1
    return bad and len(ss) > 1


def test_specifiers_match_packaging():
    rng = random.Random(SEED + 3)
    valid = [s.strip() for s in version_pool(SEED + 4, 1500)
             if ascii_only(s) and s.strip()]
    valid = [s for s in valid if not s.startswith(("!", "+"))]
    good = []
    for s in valid:
        try:
            Version(s)
            good.append(s)
        except InvalidVersion:
            pass
    cases = []
    for _ in range(12000):
        specs = gen_specset(rng, good if rng.random() < 0.9 else valid)
        base = rng.choice(good)
        for ver in rng.sample(near_versions(rng, base), 3):
            cases.append((specs, ver, rng.choice([-1, -1, 0, 1])))
    # Hand-picked traps from packaging's own logic.
    hand = [
        ("~=1.0c1", "1.0.5", -1), ("~=1.0rc1", "1.0.5", 1),
        ("~=1.0rc1", "1.5", 1), ("~=1.0c1", "1.5", 1),
        ("~=1.0.pre1", "1.1", 1), ("~=1.0.b1", "1.1", 1),
        ("~=1.0.r1", "1.1", -1), ("~=1.0.POST1", "1.1", -1),
        ("==1!2.0.*", "1!2", -1), ("==1!2.*", "1!2.5", -1),
        ("==1.0.*", "1.0a1", 1), ("==1.0.*", "1.0a1", -1),
        (">1.0", "1.0.post1", -1), (">1.0", "1.0+local", -1),
        ("<1.0", "1.0a1", 1), ("<1.0", "0.9a1", 1), ("<1.0rc1", "1.0a1", -1),
        ("===1.0", "1.0", -1), ("===1.0", "1.0.0", -1), ("===foo", "1.0", -1),
        ("===foo", "1.0", 1), ("===", "1.0", 0), ("==1.0+abc", "1.0+ABC", -1),
        ("==1.0", "1.0+abc", -1), ("!=1.0.*", "1.0.1", -1), ("", "1.0a1", -1),
        ("", "1.0", -1), (",", "1.0", -1), ("~=1", "1.0", -1),
        (">=1.0+abc", "1.0", -1), ("<1.0.*", "1.0", -1), ("== 1.0", "1.0", -1),
        ("====1.0", "1.0", -1), (">=v1.0", "1.0", -1), ("~=v1.0.1", "1.0.5", -1),
        (">= 1.0 , < 2", "1.5", -1), (">=1.0;", "1.0", -1), ("==1.0)", "1", -1),
    ]
    cases += hand
    got = run_helper([["S", s, v, str(p)] for s, v, p in cases], 2)
    bad = []
    stats = {"1": 0, "0": 0, "badspec": 0}
    skipped = 0
    for (specs, ver, pre), ours in zip(cases, got):
        if order_dependent(specs, pre):
            skipped += 1
            continue
        want = py_contains(specs, ver, pre)
        if want[0] in stats:
            stats[want[0]] += 1
        if ours != want:
            bad.append((specs, ver, pre, want, ours))
    assert not bad, "%d mismatches, first: %r" % (len(bad), bad[:8])
    assert min(stats.values()) > 1000, stats
    assert skipped < len(cases) // 50, skipped
