"""Every script in examples/ runs to completion in a fresh process and prints its key line."""

import importlib.util
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import pg_service
import redis_service

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"

KEY_LINE: dict[str, str] = {
    "demo.py": "Demo complete: crash, resume, history, fork and approval all worked on SQLite.",
    "durable_workflow.py": "OK: the workflow resumed without re-running finished tasks",
    "approval_workflow.py": "OK: approval resumed the paused run",
    "chat_memory.py": "OK: each thread remembers its own conversation",
    "checkpointer_api.py": "OK: listed, replayed, forked and copied the thread",
    "crash_resume.py": "OK: resumed at format_report without re-running",
    "cross_thread_store.py": "OK: the store is shared across threads",
    "persistence_basics.py": "OK: the second invoke continued the thread",
    "postgres_backend.py": "OK: PostgreSQL checkpoints work",
    "recovery_and_rollback.py": "OK: rolled back to the last good checkpoint and finished",
    "redis_backend.py": "OK: Redis checkpoints work",
    "session_manager.py": "OK: sessions are isolated and share one saver",
    "sqlite_backend.py": "OK: the SQLite thread survived a restart",
    "streaming_chat.py": "OK: tokens streamed, the approved tool call resumed in a new process, "
    "runs traced",
    "tool_agent.py": "OK: the tool agent was killed, resumed, rewound and forked on SQLite",
    "react_agent.py": "OK: the ReAct agent paused for review and resumed in other processes",
}

# Examples that need a part of tether not built yet, or a server: (module, env var or None).
NEEDS: dict[str, tuple[str, str | None]] = {
    "postgres_backend.py": ("tether.checkpoint.postgres", "TETHER_POSTGRES_URL"),
    "redis_backend.py": ("tether.checkpoint.redis", "TETHER_REDIS_URL"),
}

# The test servers' URLs, given to an example whose env var is unset (and checked first).
SERVICE_URLS = {"TETHER_REDIS_URL": (redis_service.URL, redis_service.require)}

# Servers the test session provides when the env var is not set: its own database.
SESSION_SERVERS: dict[str, Callable[[], str]] = {
    "TETHER_POSTGRES_URL": pg_service.database_url,
}


def module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def skip_reason(example: str) -> str | None:
    if example not in NEEDS:
        return None
    module, env_var = NEEDS[example]
    if not module_exists(module):
        return f"{module} does not exist yet"
    if env_var in SERVICE_URLS:
        url, require = SERVICE_URLS[env_var]
        require(url)  # skips, or fails under TETHER_REQUIRE_SERVICES=1, when unreachable
        return None
    if env_var in SESSION_SERVERS and not os.environ.get(env_var):
        os.environ[env_var] = SESSION_SERVERS[env_var]()  # skips when the server is down
    if env_var and not os.environ.get(env_var):
        if os.environ.get("TETHER_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{example} needs {env_var} (TETHER_REQUIRE_SERVICES=1)")
        return f"set {env_var} to run this example against a server"
    return None


def test_every_example_has_a_key_line():
    scripts = {p.name for p in EXAMPLES_DIR.glob("*.py")}
    assert scripts == set(KEY_LINE), "register new examples in KEY_LINE (and NEEDS if needed)"


def run_example(name: str, cwd: Path, *args: str) -> str:
    """Run examples/<name> in a fresh process; return its stdout, failing on a non-zero exit."""
    done = subprocess.run(
        [sys.executable, str(EXAMPLES_DIR / name), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert done.returncode == 0, f"{name} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def example_param(name: str) -> object:
    needs_server = name in NEEDS and NEEDS[name][1] is not None
    return pytest.param(name, marks=pytest.mark.services) if needs_server else name


@pytest.mark.parametrize("example", [example_param(name) for name in sorted(KEY_LINE)])
def test_example_runs(example: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reason = skip_reason(example)
    if reason:
        pytest.skip(reason)
    for env_var, (url, _) in SERVICE_URLS.items():
        if not os.environ.get(env_var):
            monkeypatch.setenv(env_var, url)

    out = run_example(example, tmp_path)
    assert KEY_LINE[example] in out, out


def test_demo_crashes_resumes_forks_and_approves_on_its_sqlite_file(tmp_path: Path) -> None:
    db = tmp_path / "runs" / "claims.db"
    db.parent.mkdir()

    out = run_example("demo.py", tmp_path, "--db", str(db))
    assert "review: killing this process now" in out
    assert "child process died: exit code -9 (SIGKILL)" in out
    assert "node calls so far: intake=1, assess=1, review=1, pay=0" in out
    assert "node calls now: intake=1, assess=1, review=2, pay=1" in out
    assert "amount 250.0 -> 5000.0" in out
    assert "review paused the run, waiting on: {'question': 'approve this claim?'" in out
    assert "original branch: amount=250.0   status=paid (approved by auto)" in out
    assert "forked branch:   amount=5000.0  status=paid (approved by manager dana)" in out
    assert out.rstrip().endswith(KEY_LINE["demo.py"])
    assert db.stat().st_size > 0
    assert not (tmp_path / "demo.db").exists()


def test_tool_agent_is_killed_resumed_rewound_and_forked(tmp_path: Path) -> None:
    db = tmp_path / "agent.db"
    out = run_example("tool_agent.py", tmp_path, "--db", str(db))
    assert "tools: killing this process now (SIGKILL)" in out
    assert "child process died: exit code -9 (SIGKILL)" in out
    assert "node calls so far: {'agent': 2, 'tools': 2}" in out
    assert "answer: Paris: 64.4 F today, population 2.1 million." in out
    # only the killed tools step ran again on resume
    assert "node calls now: {'agent': 3, 'tools': 3}" in out
    assert (
        "messages: HumanMessage, AIMessage, ToolMessage, ToolMessage, AIMessage, ToolMessage, "
        "AIMessage" in out
    )
    assert "from step 1: ran {'agent': 2, 'tools': 2} again; answer: Paris: 64.4 F" in out
    assert "forked branch:   Tokyo: 71.6 F today, population 14 million." in out
    assert "original branch: Paris: 64.4 F today, population 2.1 million." in out
    assert out.rstrip().endswith(KEY_LINE["tool_agent.py"])
    assert db.stat().st_size > 0


def test_react_agent_pauses_for_review_and_resumes_in_other_processes(tmp_path: Path) -> None:
    db = tmp_path / "trip.db"
    out = run_example("react_agent.py", tmp_path, "--db", str(db))
    lines = [line.strip() for line in out.splitlines()]
    waits = [line.split("; waiting for ", 1)[1] for line in lines if "; waiting for " in line]
    assert waits == [
        "review of tool call get_weather({'city': 'Lisbon'})",
        "review of tool call book_trip({'city': 'Lisbon'})",
        "the traveller: Book a trip to Lisbon?",
        "nothing (finished)",
    ]
    pids = {line.split()[1] for line in lines if line.startswith("process ")}
    assert len(pids) == 4  # each step ran in its own process
    assert "answer: Lisbon is 24 C and sunny. Booked: TRIP-LISBON-001" in lines
    assert "booking in state: TRIP-LISBON-001" in lines
    assert (
        "messages: HumanMessage, AIMessage, ToolMessage, AIMessage, ToolMessage, AIMessage" in lines
    )
    assert "checkpoints: 7" in lines  # as LangGraph 1.2.22 gives for the same script
    assert out.rstrip().endswith(KEY_LINE["react_agent.py"])
    assert not (tmp_path / "react_agent.db").exists()
