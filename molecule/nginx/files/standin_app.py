#!/usr/bin/python3
"""Stand-in for the Parley app behind the edge in the nginx scenario.

A real socket.io server (Debian's python3-socketio on gevent-websocket,
the app's own stack) on /socket.io/, and an HTTP echo for every other
path: the method, path, body size and headers it received, as JSON, and
how many times it served that path (so a test sees whether the edge
answered from its cache).

It accepts every Origin and very large bodies on purpose: the edge's
origin check and size limits are what the scenario tests, so the
stand-in must not refuse anything itself.
"""

import json
from collections import Counter

import socketio
from gevent import pywsgi
from geventwebsocket.handler import WebSocketHandler

SEEN = ("Upgrade", "Connection", "Host", "X-Forwarded-Proto",
        "X-Forwarded-For", "Origin")
served = Counter()
sio = socketio.Server(async_mode="gevent", cors_allowed_origins="*",
                      max_http_buffer_size=256 * 1024 * 1024)
connections = {}


def headers_of(environ):
    return {
        key[5:].replace("_", "-").title(): value
        for key, value in environ.items() if key.startswith("HTTP_")
    }


@sio.event
def connect(sid, environ):
    connections[sid] = {name: headers_of(environ).get(name, "")
                        for name in SEEN}


@sio.event
def disconnect(sid):
    connections.pop(sid, None)


@sio.on("headers")
def on_headers(sid):
    """What the edge sent with the request that opened this connection."""
    return connections.get(sid, {})


def echo(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    received = 0
    while received < length:
        block = environ["wsgi.input"].read(min(65536, length - received))
        if not block:
            break
        received += len(block)
    path = environ.get("PATH_INFO", "")
    query = environ.get("QUERY_STRING", "")
    served[path] += 1
    body = json.dumps({
        "method": environ["REQUEST_METHOD"],
        "path": path + ("?" + query if query else ""),
        "body_bytes": received,
        "served": served[path],
        "headers": headers_of(environ),
    }).encode()
    start_response("200 OK", [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        # The edge must replace this for content-hashed client files.
        ("Cache-Control", "no-cache"),
    ])
    return [body]


if __name__ == "__main__":
    app = socketio.WSGIApp(sio, echo)
    pywsgi.WSGIServer(("0.0.0.0", 8000), app,
                      handler_class=WebSocketHandler).serve_forever()
