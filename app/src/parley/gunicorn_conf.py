"""gunicorn settings for Parley: `gunicorn -c python:parley.gunicorn_conf`.

Equivalent flags:
`-k geventwebsocket.gunicorn.workers.GeventWebSocketWorker -w 1
--bind 0.0.0.0:8000 --no-control-socket parley.wsgi:app`.
"""

# python-engineio talks WebSocket through gevent-websocket whenever it is
# importable; only this worker class can then upgrade connections.
worker_class = "geventwebsocket.gunicorn.workers.GeventWebSocketWorker"

# Socket.io sessions live in the memory of one process. A second worker
# would receive requests for sessions it does not know ("invalid
# session"). Scale with more processes behind sticky routing instead.
workers = 1

# Address and port the edge proxies to.
bind = ["0.0.0.0:8000"]

# Seconds a silent worker may live; above the socket.io ping interval.
timeout = 60

# Seconds given to open connections when the service stops.
graceful_timeout = 20

# gunicorn 27 (the pinned version) opens a control socket in
# ~/.gunicorn; the service account has no writable home under a
# read-only system, and nothing here uses it.
control_socket_disable = True

accesslog = "-"
errorlog = "-"
