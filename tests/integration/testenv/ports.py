# Free TCP ports on loopback, and waiting for a port to accept connections.
import random
import socket
import time

_handed_out = set()

# Below Linux's ephemeral range (32768-60999), so an outgoing connection
# cannot grab the port between our probe and the server's bind.
_LOW, _HIGH = 20000, 32767


def free_port(host="127.0.0.1"):
    """Return a TCP port on HOST that nobody listens on right now.

    Never returns the same port twice in one process.  A race with other
    processes remains possible; the start_* helpers retry on EADDRINUSE.
    """
    for _ in range(200):
        port = random.randint(_LOW, _HIGH)
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError("no free port found on %s" % host)


def port_open(host, port, timeout=0.5):
    """True if something accepts TCP connections on HOST:PORT."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for_port(host, port, timeout=10.0, proc=None):
    """Wait until HOST:PORT accepts connections.

    Raises TimeoutError, or RuntimeError as soon as PROC (a Popen) exits.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(
                "process %d exited with %s before %s:%d opened"
                % (proc.pid, proc.returncode, host, port)
            )
        if port_open(host, port):
            return
        time.sleep(0.05)
    raise TimeoutError("%s:%d not accepting connections after %.1fs"
                       % (host, port, timeout))
