"""gunicorn settings: ``gunicorn -c python:csto_site.gunicorn csto_site.wsgi``.

Every value can be changed by the environment, so one file serves a laptop and a
production host. The figures behind the defaults are in bench/RESULTS.md.
"""

import multiprocessing
import os

# Listen where the reverse proxy expects us (a Unix socket works too: unix:/run/csto.sock).
# Each thread keeps its database connection between requests (checked before it is
# used again, so a restarted database costs one reconnection): a new PostgreSQL
# connection for each request cost its backend's start and catalogue reads, about 5 ms
# of the machine's CPU a request (bench/cost.py; bench/RESULTS.md). Set
# DATABASE_CONN_MAX_AGE=0 to close them after each request.
os.environ.setdefault("DATABASE_CONN_MAX_AGE", "60")

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

# Processes use the cores (2 per core plus one keeps a core busy while another worker waits
# on PostgreSQL); a few threads in each (gunicorn's gthread worker) let a worker answer
# pages while one of its threads streams a long export.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", 4))

# A worker that stops answering gunicorn's heartbeat for 30 s is stuck and is replaced.
# With threads the heartbeat goes on while requests run, so an export that streams for
# minutes (the whole archive as CSV: about 3 minutes at 800,000 positions) is not cut off,
# as it was with synchronous workers, whose heartbeat waits for the request to end (the
# load test at 100,000 releases, bench/RESULTS.md).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", 30))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", 5))

# Recycle workers now and then, jittered so they do not all restart at once.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 2000))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", 200))

# Heartbeat files in memory, not on a possibly slow disk.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 - tmpfs

# Access log to stdout (the service manager keeps it), with the time taken in µs.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = os.environ.get("GUNICORN_ERROR_LOG", "-")
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(D)sµs'

# Trust X-Forwarded-* only from the reverse proxy in front (same host by default).
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")

# Load the application once in the master, then fork: less memory per worker.
preload_app = os.environ.get("GUNICORN_PRELOAD", "1") == "1"
