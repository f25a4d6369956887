"""Kernels are private: no Jupyter protocol port on TCP, IPC sockets in a runtime directory only
their owner can enter. The probe this answers: another local account connecting to a kernel's
ports and subscribing to its IOPub, to read its code and outputs as they happen.

One loopback TCP socket remains in ipykernel 7, which the test names: the IOPub *pipe*, a
ZeroMQ PULL socket through which the kernel's forked children send it their output. It
only receives, and drops any message without the kernel's random 16-byte key, so nothing
can be read from it; the test checks that too.
"""

from __future__ import annotations

import json
import os
import pwd
import stat
from pathlib import Path

from tests.support.hub_person import HubPerson

WHERE = ("import json, os\nfrom ipykernel.kernelapp import IPKernelApp\napp = IPKernelApp.instance()\n"
         "print(json.dumps({'transport': app.transport, 'ip': app.ip, 'file': app.abs_connection_file,\n"
         "  'pid': os.getpid(), 'iopub': app.iopub_port, 'ports': [app.shell_port, app.iopub_port,\n"
         "  app.stdin_port, app.control_port, app.hb_port], 'runtime': os.environ.get('JUPYTER_RUNTIME_DIR'),\n"
         "  'pipe': getattr(app.iopub_thread, '_pipe_port', None)}))")


def _listening_ports(pid: int) -> set[int]:
    """Ports of the TCP and TCP6 sockets in LISTEN state held by ``pid``."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                found.add(int(fields[1].rsplit(":", 1)[1], 16))
    return found


def test_kernels_listen_on_no_port_and_only_their_owner_reaches_their_sockets(servers: dict[str, HubPerson],
                                                                              account):
    alice, bob = servers["alice"].kernel(), servers["bob"].kernel()
    try:
        where = json.loads(alice.run(WHERE).ok())
        assert where["transport"] == "ipc"
        # Nothing on TCP to subscribe to: only the IOPub pipe (see the module), if ipykernel has one.
        assert _listening_ports(where["pid"]) <= {where["pipe"]}
        assert not set(where["ports"]) & _listening_ports(where["pid"])
        home = Path(pwd.getpwnam(account("alice")).pw_dir)
        runtime = home / ".jupyter-run"
        assert where["runtime"] == str(runtime) and Path(where["file"]).parent == runtime
        assert stat.S_IMODE(runtime.stat().st_mode) & 0o777 == 0o700 and runtime.stat().st_uid == pwd.getpwnam(
            account("alice")).pw_uid
        iopub = f"{where['ip']}-{where['iopub']}"
        assert stat.S_ISSOCK(os.stat(iopub).st_mode)  # (as root) the socket the probe would subscribe to
        # alice's kernel publishes on IOPub for the next 8 s (a thread printing), while bob listens.
        alice.run("import threading, time\ndef chatter():\n    for i in range(40):\n"
                  "        print('alice-secret', i, flush=True); time.sleep(0.2)\n"
                  "threading.Thread(target=chatter, daemon=True).start()").ok()
        # bob, another Unix account, tries what the probe did: read the connection file (its key),
        # connect to the IOPub socket, subscribe, listen.
        probe = bob.run(
            "import socket, zmq, json\nfound = {}\n"
            f"try:\n    open({where['file']!r}).read(); found['file'] = 'read'\n"
            "except OSError as e:\n    found['file'] = type(e).__name__\n"
            f"s = socket.socket(socket.AF_UNIX)\ntry:\n    s.connect({iopub!r}); found['connect'] = 'connected'\n"
            "except OSError as e:\n    found['connect'] = type(e).__name__\n"
            "ctx = zmq.Context.instance(); sub = ctx.socket(zmq.SUB); sub.setsockopt(zmq.SUBSCRIBE, b'')\n"
            f"sub.connect('ipc://' + {iopub!r}); sub.setsockopt(zmq.RCVTIMEO, 3000)\n"
            "try:\n    found['iopub'] = len(sub.recv_multipart())\n"
            "except zmq.Again:\n    found['iopub'] = 'nothing'\n"
            "sub.close(0)\n"
            f"pull = ctx.socket(zmq.PULL); pull.connect('tcp://127.0.0.1:{where['pipe'] or 1}')\n"
            "pull.setsockopt(zmq.RCVTIMEO, 2000)\n"
            "try:\n    found['pipe'] = len(pull.recv_multipart())\n"
            "except zmq.Again:\n    found['pipe'] = 'nothing'\n"
            "pull.close(0)\nprint(json.dumps(found))")
        heard = json.loads(probe.ok())
        assert heard == {"file": "PermissionError", "connect": "PermissionError", "iopub": "nothing",
                         "pipe": "nothing"}, heard
        for port in where["ports"]:  # nor any TCP port by those numbers
            attempt = bob.run(f"import socket\nsocket.create_connection(('127.0.0.1', {int(port)}), timeout=2)")
            assert attempt.error is not None and attempt.error[0] in ("ConnectionRefusedError", "TimeoutError",
                                                                       "OSError"), attempt
    finally:
        alice.close()
        bob.close()
