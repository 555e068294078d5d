#!/usr/bin/env python3
"""A WebSocket-only socket.io client through the edge (F02, F04, F05).

Usage: sio_probe.py URL ORIGIN CAFILE. Connects with transports
['websocket'] only, sending ORIGIN, verifying the edge with CAFILE; on
success asks the server for the headers the edge passed on. Prints one
JSON line: {"connected", "transport", "headers"} or {"connected": false,
"error"}. A refused connection is a result, not a failure of the probe.
"""

from __future__ import annotations

import json
import sys

import requests
import socketio

url, origin, cafile = sys.argv[1:4]
session = requests.Session()
session.verify = cafile
# websocket-client sends an Origin of its own unless told which one.
client = socketio.Client(http_session=session, reconnection=False,
                         websocket_extra_options={"origin": origin})
try:
    client.connect(url, transports=["websocket"], wait_timeout=10)
except socketio.exceptions.ConnectionError as error:
    print(json.dumps({"connected": False, "error": str(error)}))
    sys.exit(0)

try:
    headers = client.call("headers", timeout=10)
    print(json.dumps({"connected": True,
                      "transport": client.transport(),
                      "headers": headers}))
finally:
    client.disconnect()
