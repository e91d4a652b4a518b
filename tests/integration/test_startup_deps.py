"""owctl must start fast for every command: libraries that cost
milliseconds to map and initialise (libcurl pulls ~30 others) are opened
with dlopen when a command needs them (lib/base/lazylib.c), never linked.
This checks the binary's DT_NEEDED entries, not timings."""
import subprocess

from owctlrun import owctl_path

HEAVY = ("libcurl", "libarchive", "libcrypto", "libssl", "libgnutls", "libldap",
         "libpython")


def test_heavy_libraries_are_not_linked():
    out = subprocess.run(["readelf", "-d", owctl_path()], capture_output=True,
                         text=True, check=True).stdout
    needed = [line.split("[")[1].rstrip("]") for line in out.splitlines() if "(NEEDED)" in line]
    assert needed, out
    assert not [n for n in needed if n.startswith(HEAVY)], needed
