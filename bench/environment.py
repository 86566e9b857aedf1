"""What machine and which package versions a benchmark ran on (for the report header)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

PACKAGES = (
    "tether",
    "langgraph",
    "langgraph-checkpoint",
    "langgraph-checkpoint-sqlite",
    "langchain-core",
    "ormsgpack",
    "xxhash",
)


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _field(text: str, key: str, sep: str) -> str | None:
    for line in text.splitlines():
        name, _, value = line.partition(sep)
        if name.strip() == key:
            return value.strip().strip('"')
    return None


def cpu_model() -> str:
    return _field(_read("/proc/cpuinfo"), "model name", ":") or platform.processor() or "unknown"


def ram() -> str:
    total = _field(_read("/proc/meminfo"), "MemTotal", ":")
    if total and total.endswith("kB"):
        return f"{int(total[:-2]) / 1024**2:.1f} GiB"
    return total or "unknown"


def os_name() -> str:
    pretty = _field(_read("/etc/os-release"), "PRETTY_NAME", "=") or platform.system()
    return f"{pretty} (kernel {platform.release()})"


def cores() -> str:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return f"{os.cpu_count()} logical" + (f", {usable} usable by this process" if usable else "")


def versions() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def source_revision(repo: Path) -> str:
    """The repo's commit (with "+ local changes" if the tree is dirty), or "unknown"."""
    try:
        head = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + (" + local changes" if dirty else "")


def describe(repo: Path) -> dict[str, str]:
    """The report header's machine facts, in display order."""
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "CPU": cpu_model(),
        "cores": cores(),
        "RAM": ram(),
        "OS": os_name(),
        "Python": f"{platform.python_implementation()} {sys.version.split()[0]}",
        "tether source": source_revision(repo),
    }
