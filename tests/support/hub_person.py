"""A person at the hub, as the tests drive one: the login form, a token, a server, kernels.

Everything goes over HTTP to the hub's public proxy on loopback, like a browser and a
notebook would: the login form (with its XSRF cookie), the REST API for a token and a
server, the server's ``/api/kernels`` and the kernel's websocket (Jupyter's messaging
protocol, JSON over ``/channels``) to run code.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import requests
import websocket
from requests.adapters import HTTPAdapter


class _FromAddress(HTTPAdapter):
    """Connect from a given local address (127.0.0.2...: another machine, as the hub sees it)."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


class HubPerson:
    """One hub user: logs in through the form, then acts with a token.

    ``source``: the loopback address to connect from (``127.0.0.2``...), so that the hub
    sees logins from different addresses.
    """

    def __init__(self, url: str, name: str, source: str | None = None) -> None:
        self.url = url  # the proxy's public URL, ending in /
        self.name = name
        self.session = requests.Session()
        if source:
            self.session.mount("http://", _FromAddress(source))
        self.token: str | None = None

    def login(self, password: str) -> requests.Response:
        """Post the login form (not following the redirect to the spawn page)."""
        self.session.get(self.url + "hub/login", timeout=30)
        return self.session.post(self.url + "hub/login", allow_redirects=False, timeout=30,
                                 data={"username": self.name, "password": password,
                                       "_xsrf": self.session.cookies.get("_xsrf", path="/hub/")})

    def make_token(self) -> str:
        """An API token of one's own, asked for with the login cookie (as the hub's token page does)."""
        response = self.session.post(self.url + f"hub/api/users/{self.name}/tokens", timeout=30,
                                     headers={"X-XSRFToken": self.session.cookies.get("_xsrf", path="/hub/")},
                                     json={"note": "hub tests", "expires_in": 1800})
        assert response.status_code == 201, response.text
        self.token = str(response.json()["token"])
        return self.token

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Call the hub's or a server's REST API with one's token (``path`` relative to the proxy)."""
        headers = {"Authorization": f"token {self.token}", **kwargs.pop("headers", {})}
        return requests.request(method, self.url + path, headers=headers, timeout=kwargs.pop("timeout", 60), **kwargs)

    def start_server(self) -> None:
        """Ask for one's server (returns at once; :meth:`wait_ready` waits)."""
        response = self.api("POST", f"hub/api/users/{self.name}/server")
        assert response.status_code in (201, 202, 400), response.text  # 400: already running

    def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            server = self.server()
            if server and server.get("ready"):
                return
            if server is None and time.monotonic() > deadline - timeout + 5:
                raise AssertionError(f"{self.name}'s server stopped while starting")
            time.sleep(0.5)
        raise AssertionError(f"{self.name}'s server was not ready within {timeout:g} s")

    def server(self) -> dict[str, Any] | None:
        """The default server's model from the hub, or None if it is not running."""
        response = self.api("GET", f"hub/api/users/{self.name}")
        assert response.status_code == 200, response.text
        return response.json().get("servers", {}).get("")

    def kernel(self) -> Kernel:
        """A new Python kernel in one's own server."""
        return Kernel.start(self.url, f"user/{self.name}/", str(self.token))


@dataclass
class Execution:
    """What a cell printed and how it ended."""

    stdout: str = ""
    stderr: str = ""
    error: tuple[str, str] | None = None  # (ename, evalue)
    results: list[str] = field(default_factory=list)

    def ok(self) -> str:
        """The output, after checking the cell raised nothing."""
        assert self.error is None, f"the cell raised {self.error[0]}: {self.error[1]}\n{self.stderr}"
        return self.stdout


class Kernel:
    """A kernel in a user's server, driven over its websocket."""

    def __init__(self, base: str, kernel_id: str, token: str) -> None:
        self.base, self.id, self.token = base, kernel_id, token
        ws_url = base.replace("http://", "ws://") + f"api/kernels/{kernel_id}/channels"
        self.session_id = uuid.uuid4().hex
        self.ws = websocket.create_connection(ws_url, header=[f"Authorization: token {token}"], timeout=120)

    @classmethod
    def start(cls, url: str, server_prefix: str, token: str) -> Kernel:
        base = url + server_prefix
        response = requests.post(base + "api/kernels", json={"name": "python3"}, timeout=120,
                                 headers={"Authorization": f"token {token}"})
        assert response.status_code == 201, response.text
        return cls(base, response.json()["id"], token)

    def run(self, code: str, timeout: float = 120.0) -> Execution:
        """Execute ``code`` and collect its output until the kernel is idle again."""
        msg_id = uuid.uuid4().hex
        self.ws.send(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "test",
                       "session": self.session_id, "version": "5.3", "date": ""},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True},
        }))
        out = Execution()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = json.loads(self.ws.recv())
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "stream":
                if content["name"] == "stdout":
                    out.stdout += content["text"]
                else:
                    out.stderr += content["text"]
            elif kind == "error":
                out.error = (content["ename"], content["evalue"])
            elif kind == "execute_result":
                out.results.append(content["data"].get("text/plain", ""))
            elif kind == "status" and content["execution_state"] == "idle":
                return out
        raise AssertionError(f"the kernel did not finish within {timeout:g} s: {code[:200]}")

    def close(self) -> None:
        self.ws.close()
        requests.delete(self.base + f"api/kernels/{self.id}", headers={"Authorization": f"token {self.token}"},
                        timeout=30)
