"""``tether.connect`` / ``tether.connect_store``: URL -> backend, options, errors, masking."""

from __future__ import annotations

import asyncio
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import tether
from tether import backends
from tether.checkpoint.memory import InMemorySaver
from tether.checkpoint.sqlite import SqliteSaver
from tether.errors import ConfigurationError, MissingDependency
from tether.store.memory import InMemoryStore
from tether.store.sqlite import SqliteStore
from tether.urls import mask_url, sqlite_path

CONFIG = {"configurable": {"thread_id": "t1"}}


def test_memory_url_gives_an_in_memory_saver_and_store() -> None:
    assert type(tether.connect("memory://")) is InMemorySaver
    with tether.connect_store("memory://") as store:
        assert type(store) is InMemoryStore


@pytest.mark.parametrize(
    "url", ["sqlite://", "sqlite://:memory:", "sqlite:///:memory:", ":memory:"]
)
def test_sqlite_memory_urls(url: str) -> None:
    with tether.connect(url) as saver:
        assert type(saver) is SqliteSaver
        assert saver.path == ":memory:"


def test_three_slashes_is_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    with tether.connect("sqlite:///sub/app.db") as saver:
        saver.setup()
    assert (tmp_path / "sub" / "app.db").is_file()


def test_four_slashes_is_an_absolute_path_percent_decoded(tmp_path: Path) -> None:
    with tether.connect(f"sqlite:///{tmp_path}/my%20app.db") as saver:
        saver.setup()
    assert (tmp_path / "my app.db").is_file()


@pytest.mark.parametrize("name", ["app.db", "app.sqlite", "app.SQLITE3"])
def test_a_bare_path_with_a_sqlite_suffix_is_a_sqlite_file(tmp_path: Path, name: str) -> None:
    with tether.connect(str(tmp_path / name)) as saver:
        saver.setup()
    assert (tmp_path / name).is_file()


def test_a_path_object_is_a_sqlite_file(tmp_path: Path) -> None:
    with tether.connect(tmp_path / "checkpoints") as saver:
        assert type(saver) is SqliteSaver
        saver.setup()
    assert (tmp_path / "checkpoints").is_file()


def test_the_scheme_is_case_insensitive(tmp_path: Path) -> None:
    with tether.connect(f"SQLite:///{tmp_path}/a.db") as saver:
        assert saver.path == f"{tmp_path}/a.db"


def test_options_reach_the_backend(tmp_path: Path) -> None:
    with tether.connect(f"sqlite:///{tmp_path}/a.db", lease_ttl=5, synchronous="FULL") as saver:
        assert saver.lease_ttl == 5.0
    store = tether.connect_store("memory://", ttl={"default_ttl": 2})
    assert store.ttl_config == {"default_ttl": 2}


def test_a_sqlite_store_url_keeps_items_across_opens(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/store.db"
    with tether.connect_store(url) as store:
        assert type(store) is SqliteStore
        store.put(("users", "u1"), "prefs", {"tone": "short"})
    with tether.connect_store(url) as store:
        item = store.get(("users", "u1"), "prefs")
    assert item is not None and item.value == {"tone": "short"}


def test_a_graph_runs_async_on_a_connected_saver(tmp_path: Path) -> None:
    from typing_extensions import TypedDict

    from tether.graph import END, START, StateGraph

    class State(TypedDict):
        n: int

    graph = StateGraph(State)
    graph.add_node("double", lambda state: {"n": state["n"] * 2})
    graph.add_edge(START, "double")
    graph.add_edge("double", END)

    async def run() -> int:
        async with tether.connect(f"sqlite:///{tmp_path}/a.db") as saver:
            app = graph.compile(checkpointer=saver)
            await app.ainvoke({"n": 21}, CONFIG)
            return (await app.aget_state(CONFIG)).values["n"]

    assert asyncio.run(run()) == 42


# --- errors ---------------------------------------------------------------------------------


def test_an_unknown_scheme_lists_the_known_ones_and_hides_the_password() -> None:
    with pytest.raises(ConfigurationError) as caught:
        tether.connect("mysql://app:hunter2@db.example/app")
    text = str(caught.value)
    assert "unknown URL scheme 'mysql'" in text
    assert "mysql://app:***@db.example/app" in text and "hunter2" not in text
    for scheme in backends.SAVERS:
        assert f"{scheme}://" in text
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("url", ["jobs", "jobs.txt", ""])
def test_a_string_that_is_not_a_url_says_how_to_write_one(url: str) -> None:
    with pytest.raises(ConfigurationError, match="not a URL; write scheme://"):
        tether.connect(url)


@pytest.mark.parametrize("url", [None, 3, b"sqlite://"])
def test_a_url_that_is_not_a_string(url: object) -> None:
    with pytest.raises(ConfigurationError, match="needs a URL string"):
        tether.connect(url)  # type: ignore[arg-type]


def test_memory_urls_carry_nothing_else() -> None:
    with pytest.raises(ConfigurationError, match="names nothing after 'memory://'"):
        tether.connect_store("memory://shared")


def test_a_sqlite_url_with_a_host_is_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"write sqlite:///app\.db"):
        tether.connect("sqlite://app.db")


def test_a_sqlite_url_with_a_query_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="pass options as keyword arguments"):
        tether.connect("sqlite:///app.db?synchronous=FULL")


def test_an_option_the_backend_does_not_take_is_named() -> None:
    with pytest.raises(ConfigurationError, match="SqliteSaver does not take the option 'pool'"):
        tether.connect("sqlite://", pool=3)
    with pytest.raises(ConfigurationError, match="InMemoryStore does not take the option 'x'"):
        tether.connect_store("memory://", x=1)


@pytest.mark.parametrize(
    ("table", "url"),
    [
        (backends.SAVERS, "postgresql://app:hunter2@127.0.0.1:1/app"),
        (backends.SAVERS, "postgres://app:hunter2@127.0.0.1:1/app"),
        (backends.SAVERS, "redis://:hunter2@127.0.0.1:1/0"),
        (backends.SAVERS, "rediss://:hunter2@127.0.0.1:1/0"),
        (backends.STORES, "postgresql://app:hunter2@127.0.0.1:1/app"),
        (backends.STORES, "redis://:hunter2@127.0.0.1:1/0"),
    ],
)
def test_a_server_backend_opens_lazily_or_says_why_it_cannot(
    table: dict[str, str], url: str
) -> None:
    """Before its backend is merged (or without its driver) the error says so, password
    hidden; once it is, the URL gives that backend's class without contacting the server."""
    open_ = tether.connect if table is backends.SAVERS else tether.connect_store
    module_name, _, class_name = table[url.partition("://")[0]].partition(":")
    try:
        backend = open_(url)
    except ConfigurationError as exc:
        text = str(exc)
        assert "hunter2" not in text
        assert "is not available in this version" in text or 'pip install "tether[' in text
        return
    try:
        assert type(backend).__name__ == class_name
        assert type(backend).__module__.startswith(module_name)
    finally:
        backend.close()  # type: ignore[attr-defined]


def test_a_missing_driver_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "tether_connect_probe"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "postgres.py").write_text("import tether_driver_not_installed_anywhere\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    table = {"postgresql": "tether_connect_probe.postgres:PostgresSaver"}
    with pytest.raises(MissingDependency) as caught:
        backends._open(table, "tether.connect", "postgresql://u:hunter2@h/db", {})
    text = str(caught.value)
    assert 'pip install "tether[postgres]"' in text
    assert "'tether_driver_not_installed_anywhere'" in text and "hunter2" not in text
    assert isinstance(caught.value, ImportError)


def test_every_table_entry_names_a_tether_class_and_both_tables_take_the_same_schemes() -> None:
    assert set(backends.SAVERS) == set(backends.STORES)
    for target in [*backends.SAVERS.values(), *backends.STORES.values()]:
        module_name, colon, class_name = target.partition(":")
        assert module_name.startswith("tether.") and colon and class_name.isidentifier()


def test_the_porting_guide_lists_every_scheme_and_class() -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "porting.md"
    section = docs.read_text().split("## tether additions: connect", 1)[1]
    for table in (backends.SAVERS, backends.STORES):
        for scheme, target in table.items():
            assert f"`{scheme}://" in section
            assert f"`{target.partition(':')[2]}`" in section


def test_import_tether_loads_no_backend_driver_or_langchain() -> None:
    code = (
        "import sys, tether\n"
        "heavy = ('tether.checkpoint', 'tether.store', 'tether.engine', 'tether.graph', "
        "'langchain_core', 'psycopg', 'redis', 'sqlite3')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"


# --- tether.urls ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://app:hunter2@db:5432/app", "postgresql://app:***@db:5432/app"),
        ("postgresql://app:hu/nt@er2@db/app", "postgresql://app:***@db/app"),
        ("redis://:hunter2@localhost:6379/0", "redis://:***@localhost:6379/0"),
        ("rediss://default:hunter2@h:6380", "rediss://default:***@h:6380"),
        ("postgresql://app@db/app", "postgresql://app@db/app"),
        (
            "postgresql://db/app?user=a&password=hunter2&x=1",
            "postgresql://db/app?user=a&password=***&x=1",
        ),
        ("host=db user=app password=hunter2 dbname=x", "host=db user=app password=*** dbname=x"),
        ("host=db password='hun ter2'", "host=db password=***"),
        ("sqlite:////tmp/a:b@c.db", "sqlite:////tmp/a:b@c.db"),
        ("memory://", "memory://"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked


@pytest.mark.parametrize(
    ("conn_string", "path"),
    [
        ("app.db", "app.db"),
        (":memory:", ":memory:"),
        ("sqlite:///app.db", "app.db"),
        ("sqlite:////var/lib/app.db", "/var/lib/app.db"),
        ("sqlite:///dir/a%3Fb.db", "dir/a?b.db"),
        ("sqlite://", ":memory:"),
    ],
)
def test_sqlite_path(conn_string: str, path: str) -> None:
    assert sqlite_path(conn_string) == path


def test_the_sqlite_classes_read_urls_by_the_same_rule(tmp_path: Path) -> None:
    with SqliteSaver.from_conn_string(f"sqlite:///{tmp_path}/saver.db") as saver:
        saver.setup()
    with SqliteStore.from_conn_string(f"sqlite:///{tmp_path}/store.db") as store:
        store.setup()
    assert (tmp_path / "saver.db").is_file() and (tmp_path / "store.db").is_file()
    for cls in (SqliteSaver, SqliteStore):
        with pytest.raises(ConfigurationError, match="SQLite has no host"):
            cls.from_conn_string("sqlite://app.db")
