"""A relay between voltools and the Docker Engine's socket that can hold back or cut a request.

Point DOCKER_HOST at `unix://<path>`. Every request (a chunk from voltools that starts with an HTTP
method) is numbered from 1 and passed to `decide(number, chunk)`, which returns one of:
- PASS: on to the engine;
- ("hold", seconds): on to the engine after that long;
- CUT_BEFORE: the connection is cut and the engine never sees the request;
- CUT_AFTER: the engine gets the request and carries it out, but its answer never comes back.
A client's end never ends the engine's side (the engine would cancel a request it is still to
read): the relay keeps that open and drains it.
"""
import re
import socket
import threading
import time

ENGINE = "/var/run/docker.sock"
PASS, CUT_BEFORE, CUT_AFTER = "pass", "cut before", "cut after"
REQUEST = re.compile(rb"^(GET|POST|PUT|DELETE|HEAD) /")


class Relay:
    def __init__(self, path, decide):
        self.decide, self.requests, self.links = decide, [], []
        self.lock = threading.Lock()
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(path))
        self.server.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            engine = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            engine.connect(ENGINE)
            self.links += [client, engine]
            cut = threading.Event()  # set: the engine's answers no longer reach the client
            threading.Thread(target=self._requests, args=(client, engine, cut), daemon=True).start()
            threading.Thread(target=self._answers, args=(engine, client, cut), daemon=True).start()

    def _number(self, data):
        with self.lock:
            self.requests.append(data.split(b"\r\n", 1)[0].decode("latin-1"))
            return len(self.requests)

    def _requests(self, client, engine, cut):
        while True:
            try:
                data = client.recv(1 << 16)
            except OSError:
                return
            if not data:
                return
            action = self.decide(self._number(data), data) if REQUEST.match(data) else PASS
            if action == CUT_BEFORE:
                client.close()
                return
            if isinstance(action, tuple):
                time.sleep(action[1])
            if action == CUT_AFTER:
                cut.set()
            try:
                engine.sendall(data)
            except OSError:
                return
            if action == CUT_AFTER:
                client.close()
                return

    def _answers(self, engine, client, cut):
        while True:
            try:
                data = engine.recv(1 << 16)
            except OSError:
                data = b""
            if not data:  # the engine is done (an exec's stream ends so): so is the client's read
                try:
                    client.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            if not cut.is_set():
                try:
                    client.sendall(data)
                except OSError:
                    cut.set()  # the client is gone: keep draining the engine's side

    def close(self):
        self.server.close()
        for link in self.links:
            link.close()
