"""Inside the grading sandbox: execute the notebook on stdin, write it back on stdout.

Run by lab/academy/sandbox.py as the grading account, with ``python -I`` (no PYTHONPATH, no
user site, not the script's folder), so it imports only the environment's nbclient. It
protects its own result from the code it runs: it makes itself non-dumpable (a process of
the same account can then neither ptrace it nor open its /proc/<pid>/fd), and it moves the
result pipe off fd 1 before the kernel starts, so the kernel inherits only stderr.

Exit status: 0 done, 3 the kernel died (CPU or memory limit, or a crash), 4 a cell timed out,
5 the input is not a notebook.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import socket
import sys

PR_SET_DUMPABLE = 4


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kernel", default="python3")
    parser.add_argument("--cell-timeout", type=int, default=300)
    parser.add_argument("--forward", help="PORT=SOCKET: offer the Unix socket on 127.0.0.1:PORT (the vault relay)")
    args = parser.parse_args()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    result = os.fdopen(os.dup(1), "w", encoding="utf-8")  # os.dup: not inherited by children
    os.dup2(2, 1)
    source = sys.stdin.read()
    os.close(0)
    os.open(os.devnull, os.O_RDONLY)  # fd 0 for the kernel: nothing

    # jsonschema's optional IRI format check (pulled in by nbformat) compiles a grammar for
    # 1-2 s at import: once per submission, that was most of the sandbox's cost. No notebook
    # check needs it.
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
    import nbformat
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    try:
        notebook = nbformat.reads(source, as_version=4)
    except Exception as error:  # noqa: BLE001 - any parse failure is "not a notebook"
        print(f"not a notebook: {error}", file=sys.stderr)
        return 5
    if args.forward:
        port, path = args.forward.split("=", 1)
        _forward(int(port), path)
    for path in (os.environ.get("TMPDIR"), os.environ.get("JUPYTER_RUNTIME_DIR")):
        if path:
            os.makedirs(path, exist_ok=True)
    manager = KernelManager(kernel_name=args.kernel, transport="ipc")
    client = NotebookClient(notebook, km=manager, timeout=args.cell_timeout, allow_errors=True,
                            record_timing=False, resources={"metadata": {"path": os.getcwd()}})
    try:
        client.execute()
    except DeadKernelError as error:
        print(f"kernel died: {error}", file=sys.stderr)
        return 3
    except CellTimeoutError as error:
        print(f"cell timeout: {error}", file=sys.stderr)
        return 4
    result.write(nbformat.writes(notebook))
    result.close()
    return 0


def _forward(port: int, path: str) -> None:
    """Listen on 127.0.0.1:port (in the sandbox's own network) and pipe each client to ``path``."""
    import threading

    server = socket.create_server(("127.0.0.1", port))

    def serve() -> None:
        while True:
            client, _ = server.accept()
            try:
                upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                upstream.connect(path)
            except OSError:
                client.close()
                continue
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=pump, args=(a, b), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()


def pump(source: socket.socket, target: socket.socket) -> None:
    """Copy bytes one way until either end closes, then close both (the relay's two halves)."""
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        for end in (source, target):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


if __name__ == "__main__":
    sys.exit(main())
