"""Provenance for run.json: the machine, kernel, CPU, memory and tool versions."""
import os
import platform
import socket
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version


def utc_now():
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def voltools_version():
    try:
        return version("voltools")
    except PackageNotFoundError:
        return "unknown"


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_bytes():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return None


def host_facts():
    """What the run ran on, without anything secret (no environment, no paths of the user)."""
    return {
        "hostname": socket.gethostname(),
        "kernel": platform.release(),
        "os": platform.platform(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "memory_bytes": memory_bytes(),
        "python": platform.python_version(),
        "voltools_version": voltools_version(),
    }
