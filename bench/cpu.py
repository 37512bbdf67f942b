"""Where a benchmark's CPU went, read from /proc (Linux): by process, and the machine's."""

import os
import resource
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids=None, comm=None):
    """User + system CPU seconds of the processes ``pids`` or named ``comm``, their
    reaped children included."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # ended meanwhile
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        if (pids is not None and int(entry.name) in pids) or (comm is not None and name == comm):
            fields = stat[stat.rindex(")") + 2 :].split()
            total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return total / TICK


def children(pid):
    found = {pid}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def machine_busy():
    """CPU seconds the whole machine spent busy (every core: not idle, not waiting on I/O)."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / TICK  # (user … steal) - idle - iowait


def reaped_children():
    """CPU seconds of this process's children that have ended (a locust run)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def sample(server_pid):
    return {
        "app": cpu_seconds(pids=children(server_pid)),
        "postgres": cpu_seconds(comm="postgres"),
        "redis": cpu_seconds(comm="redis-server"),
    }
