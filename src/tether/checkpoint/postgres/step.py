"""A super-step stored by one call: PostgreSQL's ``put_step`` in one round trip.

``SqliteSaver.put_step`` runs a transaction of several statements (BEGIN, the task writes, the
blobs, the checkpoint row with the lease check, COMMIT): five or more round trips, each paying
the client's per-call cost, where one durable commit is what a step needs. Here the same rows
travel as arrays to one server function, ``tether_step`` (created by the schema migration),
called as a single statement that is its own transaction (autocommit): one round trip, one
commit. The server caches the plans of the function's statements per connection, so no
statement is planned again on every step (a single statement of data-modifying CTEs was planned
each time: 0.4-1.1 ms), and no client-side prepared statement is needed (PgBouncer in
transaction mode still works).

The function, in one transaction:

- locks the thread's row ``FOR UPDATE`` and judges the writer's lease with the rules of
  ``sqlite.leases.judge_write``; a refused write changes nothing and returns the lease row, so
  the caller raises the same error as SQLite's path (a stored step returns NULL). A thread
  without a row gets one (its first write); when another transaction inserted it meanwhile
  (a run taking the lease), the function waits for that one and judges the row it committed;
- checks that every delta/ref blob's base row is still there; when one was pruned by another
  process meanwhile it changes nothing and the caller stores the step through the transaction
  path, which writes that value in full;
- inserts pieces, a row per task's writes (schema v8; ``sqlite.writes``), blobs and the
  checkpoint row (none for ``put_writes``, a finished task's writes stored alone: also one
  call); when a task has a row already (its second ``put_writes``, a retry) it stops there and
  the caller stores the step through the transaction path, which merges the writes into it
  (the rows inserted before it are the step's writes, which that path stores again as they
  are);
- updates the thread's row only to renew the lease at half its life or, on a run's last
  commit, to give the lease back (``put_step_and_release``).
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from tether.checkpoint import deltas, large
from tether.checkpoint.base import RunnableConfig
from tether.checkpoint.lease import Lease, lease_token
from tether.checkpoint.postgres import arrays, packing, rowarg
from tether.checkpoint.sqlite import writes as task_writes
from tether.checkpoint.sqlite.leases import _stamp

if TYPE_CHECKING:
    from tether.checkpoint.postgres.connection import PgConn

_SCALARS = (
    ("thread", "text"),
    ("ns", "text"),
    ("tok_owner", "text"),
    ("tok_epoch", "bigint"),
    ("now", "float8"),
    ("ttl", "float8"),
    ("stamp", "text"),
    ("rel_owner", "text"),
    ("rel_epoch", "bigint"),
    ("rel_status", "text"),
)
_ARRAYS = (
    ("base_channels", "text"),
    ("base_versions", "text"),
    ("piece_digests", "text"),
    ("piece_data", "bytea"),
)
_WRITE = (
    ("ns", "text"),
    ("checkpoint_id", "text"),
    ("task_id", "text"),
    ("idx", "int"),
    ("channel", "text"),
    ("type", "text"),
    ("data", "bytea"),
    ("task_path", "text"),
)
"""Columns of a write row after ``thread_id`` (all of a step's writes are the step's thread),
schema v2-v7: a row per write."""
_TASK_WRITES = (
    ("ns", "text"),
    ("checkpoint_id", "text"),
    ("task_id", "text"),
    ("task_path", "text"),
    ("framed", "int"),
    ("body", "bytea"),
)
"""Columns of a task's writes row after ``thread_id``, schema v8 (``sqlite.writes``)."""
_BLOB = (
    ("channel", "text"),
    ("version", "text"),
    ("kind", "int"),
    ("base_version", "text"),
    ("count", "bigint"),
    ("depth", "int"),
    ("chain_bytes", "bigint"),
    ("type", "text"),
    ("data", "bytea"),
)
"""Columns of a blob row after ``thread_id, ns``."""
_CHECKPOINT = (
    ("checkpoint_id", "text"),
    ("parent_id", "text"),
    ("ts", "text"),
    ("step", "bigint"),
    ("source", "text"),
    ("run_id", "text"),
    ("metadata", "jsonb"),
    ("body", "bytea"),
)
"""Columns of the checkpoint row after ``thread_id, ns``."""

PARAMETERS: tuple[tuple[str, str], ...] = (
    *_SCALARS,
    *((f"c_{n}", t) for n, t in _CHECKPOINT),
    *_ARRAYS,
    *((f"wu_{n}", f"{t}[]") for n, t in _WRITE),
    *((f"wi_{n}", f"{t}[]") for n, t in _WRITE),
    *((f"b_{n}", f"{t}[]") for n, t in _BLOB),
)
"""The function's parameters in order (``_ARRAYS`` are arrays too)."""
PLAIN_PARAMETERS: tuple[tuple[str, str], ...] = tuple(
    (n, t) for n, t in PARAMETERS if not n.startswith(("base_", "piece_", "wu_", "b_"))
)
"""The plain step function's: no delta bases, pieces, upserted writes or blob rows."""
PACKED_PARAMETERS: tuple[tuple[str, str], ...] = (
    *_SCALARS,
    *((f"c_{n}", t) for n, t in _CHECKPOINT),
    *_ARRAYS,
    *((f"w_{n}", f"{t}[]") for n, t in _TASK_WRITES),
    *((f"b_{n}", f"{t}[]") for n, t in _BLOB),
)
"""Schema v8's step function's parameters: a row per task's writes (``_TASK_WRITES``)."""
PACKED_PLAIN_PARAMETERS: tuple[tuple[str, str], ...] = tuple(
    (n, t) for n, t in PACKED_PARAMETERS if not n.startswith(("base_", "piece_", "b_"))
)
"""Schema v8's plain step function's: no delta bases, pieces or blob rows."""


_NO_CHECKPOINT = (None,) * len(_CHECKPOINT)
_CAST = frozenset(["ns", *(f"c_{n}" for n, _ in _CHECKPOINT)])
"""Arguments sent with a cast to their parameter's type (``call_sql``)."""
_BASE_TAGS = (arrays.Texts, arrays.Texts)
_PIECE_TAGS = (arrays.Texts, arrays.Blobs)
_TASK_WRITE_TAGS = tuple(arrays.TAGS[t] for _, t in _TASK_WRITES)
_BLOB_TAGS = tuple(arrays.TAGS[t] for _, t in _BLOB)


def _signature(parameters: Sequence[tuple[str, str]]) -> str:
    arrays = {n for n, _ in _ARRAYS}
    return ", ".join(f"p_{n} {t}{'[]' if n in arrays else ''}" for n, t in parameters)


def _rows(args: Sequence[str], version: int) -> str:
    """The ``SELECT`` spreading array arguments into rows (scalars repeated on each row).

    From schema v4 the arrays are ``unnest``ed in the select list, which runs them in lockstep
    as ``unnest(a, b, ...)`` in ``FROM`` does (as many rows as the longest, NULLs after a
    shorter one's end) without a function scan materializing them first: ~37,000 fewer server
    instructions for a W1 step's three write rows (callgrind of a replayed W1, 596k -> 560k).
    """
    scalars = [a for a in args if not a.startswith(("p_w", "p_b_", "p_piece_"))]
    arrays = [a for a in args if a not in scalars]
    if version < 4:
        return f"SELECT {', '.join(scalars)}, u.* FROM unnest({', '.join(arrays)}) AS u"
    return f"SELECT {', '.join([*scalars, *(f'unnest({a})' for a in arrays)])}"


BASES_PROBED_SINCE = 8
"""The schema version from which the step function looks each delta's base up by its full key
(``_missing_bases``)."""


def _missing_bases(version: int) -> str:
    """The query for the delta bases the thread no longer holds (pruned meanwhile).

    Before ``BASES_PROBED_SINCE`` it was a ``NOT EXISTS`` the planner turns into an anti join:
    the function's plan is made once per connection, at its first step, and on a table that
    has few rows (or no statistics yet) the planner chose to read the thread's every blob row
    and match the pairs in memory. That plan stays for the connection's life, so each step
    read all the blob rows its thread ever stored: W2's server cost per turn grew 3.6M -> 4.9M
    to 7.4M instructions from turn 25 to 275 (30 index pages a check at turn 275). Here each
    base is a ``LATERAL ... LIMIT 1`` lookup on the primary key's four columns, as
    ``chains`` reads links: one index probe, whatever the statistics said when it was planned.
    """
    if version < BASES_PROBED_SINCE:
        return """
        SELECT 1 FROM unnest(p_base_channels, p_base_versions) AS w(channel, version)
        WHERE NOT EXISTS (
            SELECT 1 FROM "{schema}".blobs b WHERE b.thread_id = p_thread AND b.ns = p_ns
            AND b.channel = w.channel AND b.version = w.version)
    """
    return """
        SELECT 1 FROM unnest(p_base_channels, p_base_versions) AS w(channel, version)
        LEFT JOIN LATERAL (
            SELECT true AS found FROM "{schema}".blobs b WHERE b.thread_id = p_thread
            AND b.ns = p_ns AND b.channel = w.channel AND b.version = w.version LIMIT 1
        ) AS f ON true
        WHERE f.found IS NULL
    """


_RELEASE = "p_rel_owner IS NOT NULL AND l_owner = p_rel_owner AND l_epoch = p_rel_epoch"
_RENEW = (
    "p_tok_owner IS NOT NULL AND l_owner = p_tok_owner AND l_epoch = p_tok_epoch "
    "AND (l_expires IS NULL OR l_expires - p_now < p_ttl / 2)"
)


def _function(
    name: str,
    parameters: Sequence[tuple[str, str]],
    returns: str,
    refused: str,
    stored: str,
    present: str,
    *,
    version: int = 4,
) -> str:
    """The step function's text: the parts of the step its ``parameters`` carry; ``refused``
    and ``stored`` are its ways out (in ``refused``, ``{why}`` is ``lease`` or ``bases``,
    ``{lease_ok}`` and ``{bases_ok}`` the verdicts as SQL), ``present`` tests that an array
    argument holds rows. ``version``: the schema version whose body to write (below 4: as
    those versions created it, the thread row left to the insert trigger, rows spread by
    ``unnest`` in ``FROM``; see ``_rows``)."""
    names = {n for n, _ in parameters}

    def has(arg: str) -> str:
        return present.format(arg=arg)

    def rows(*args: str) -> str:
        return _rows(args, version)

    def writes(prefix: str, conflict: str) -> str:
        cols = [n for n, _ in _WRITE]
        if f"{prefix}_task_id" not in names:
            return ""
        return f"""
    IF {has(f"p_{prefix}_task_id")} THEN
        INSERT INTO "{{schema}}".writes (thread_id, {", ".join(cols)})
        {rows("p_thread", *(f"p_{prefix}_{n}" for n in cols))}
        {conflict};
    END IF;"""

    if "w_task_id" in names:  # schema v8: a row per task; one already stored needs a merge
        cols = [n for n, _ in _TASK_WRITES]
        packed = f"""
    IF {has("p_w_task_id")} THEN
        INSERT INTO "{{schema}}".writes (thread_id, {", ".join(cols)})
        {rows("p_thread", *(f"p_w_{n}" for n in cols))}
        ON CONFLICT DO NOTHING;
        GET DIAGNOSTICS l_count = ROW_COUNT;
        IF l_count < cardinality(p_w_task_id) THEN
            {refused.format(why="writes", lease_ok="true", bases_ok="false")}
        END IF;
    END IF;"""
    else:
        packed = ""
    upsert = writes(
        "wu",
        "ON CONFLICT (thread_id, ns, checkpoint_id, task_id, idx) DO UPDATE SET "
        "channel = EXCLUDED.channel, type = EXCLUDED.type, data = EXCLUDED.data, "
        "task_path = EXCLUDED.task_path",
    )
    bases = pieces = blobs = ""
    if "base_channels" in names:
        bases = f"""
    IF {has("p_base_channels")} AND EXISTS ({_missing_bases(version)}) THEN
        {refused.format(why="bases", lease_ok="true", bases_ok="false")}
    END IF;"""
    if "piece_digests" in names:
        pieces = f"""
    IF {has("p_piece_digests")} THEN
        INSERT INTO "{{schema}}".pieces (thread_id, digest, data)
        {rows("p_thread", "p_piece_digests", "p_piece_data")}
        ON CONFLICT DO NOTHING;
    END IF;"""
    if "b_channel" in names:
        blobs = f"""
    IF {has("p_b_channel")} THEN
        INSERT INTO "{{schema}}".blobs (thread_id, ns, {", ".join(n for n, _ in _BLOB)})
        {rows("p_thread", "p_ns", *(f"p_b_{n}" for n, _ in _BLOB))}
        ON CONFLICT DO NOTHING;
    END IF;"""
    thread_row = ""
    if version >= 4:  # no insert trigger: a thread's first write creates its row
        thread_row = """
    IF l_epoch IS NULL THEN
        INSERT INTO "{schema}".threads (thread_id, created_at, updated_at)
        VALUES (p_thread, p_stamp, p_stamp) ON CONFLICT (thread_id) DO NOTHING;
        IF NOT FOUND THEN  -- created meanwhile (by a run taking the lease): judge that
            SELECT t.lease_owner, t.lease_expires, t.lease_epoch INTO l_owner, l_expires, l_epoch
            FROM "{schema}".threads t WHERE t.thread_id = p_thread FOR UPDATE;
        END IF;
    END IF;"""
    return f"""
CREATE OR REPLACE FUNCTION "{{schema}}".{name}({_signature(parameters)})
{returns}
LANGUAGE plpgsql AS $body$
DECLARE
    l_owner text;
    l_expires float8;
    l_epoch bigint;
    l_ok boolean;
    l_release boolean;
    l_renew boolean;
    l_count bigint;
BEGIN
    SELECT t.lease_owner, t.lease_expires, t.lease_epoch INTO l_owner, l_expires, l_epoch
    FROM "{{schema}}".threads t WHERE t.thread_id = p_thread FOR UPDATE;{thread_row}
    l_ok := CASE
        WHEN l_epoch IS NULL THEN true
        WHEN l_owner IS NULL THEN p_tok_epoch IS NULL OR l_epoch = p_tok_epoch
        WHEN p_tok_owner IS NOT NULL THEN l_owner = p_tok_owner AND l_epoch = p_tok_epoch
        ELSE l_expires IS NULL OR l_expires <= p_now
    END;
    IF NOT coalesce(l_ok, false) THEN
        {refused.format(why="lease", lease_ok="false", bases_ok="true")}
    END IF;
    {bases}{pieces}{upsert}{writes("wi", "ON CONFLICT DO NOTHING")}{packed}{blobs}
    IF p_c_checkpoint_id IS NOT NULL THEN
        INSERT INTO "{{schema}}".checkpoints (thread_id, ns,
            {", ".join(n for n, _ in _CHECKPOINT)}, format)
        VALUES (p_thread, p_ns, {", ".join(f"p_c_{n}" for n, _ in _CHECKPOINT)}, 2)
        ON CONFLICT (thread_id, ns, checkpoint_id) DO UPDATE SET
        {", ".join(f"{n} = EXCLUDED.{n}" for n, _ in _CHECKPOINT[1:])}, format = EXCLUDED.format;
    END IF;
    l_release := coalesce({_RELEASE}, false);
    l_renew := coalesce({_RENEW}, false);
    IF l_release OR l_renew THEN
        UPDATE "{{schema}}".threads SET
            lease_owner = CASE WHEN l_release THEN NULL ELSE lease_owner END,
            lease_expires = CASE WHEN l_release THEN NULL
                WHEN l_renew THEN p_now + p_ttl ELSE lease_expires END,
            status = CASE WHEN l_release THEN coalesce(p_rel_status, status) ELSE status END,
            updated_at = CASE WHEN l_release THEN p_stamp ELSE updated_at END
        WHERE thread_id = p_thread;
    END IF;
    {stored}
END
$body$
"""


_V2_RETURNS = (
    "RETURNS TABLE (o_owner text, o_expires float8, o_epoch bigint, o_lease_ok boolean,\n"
    "               o_bases_ok boolean)",
    "RETURN QUERY SELECT l_owner, l_expires, l_epoch, {lease_ok}, {bases_ok};\n        RETURN;",
    "RETURN QUERY SELECT l_owner, l_expires, l_epoch, true, true;",
    "cardinality({arg}) > 0",
)
V2_FUNCTION_SQL = _function("tether_put_step", PARAMETERS, *_V2_RETURNS, version=2)
"""Schema v2's function, kept as v2 created it (a v1 schema upgrades through it)."""
PUT_STEP_SQL = _function("tether_put_step", PARAMETERS, *_V2_RETURNS)
"""Schema v2's function as v4 leaves it, for a process of v2 still running: its thread row
created by the function, as ``FUNCTION_SQL``'s (v4 drops the insert trigger)."""

_RETURNS = (
    "RETURNS text[]",
    "RETURN ARRAY[l_owner, l_expires::text, l_epoch::text, '{why}'];",
    "RETURN NULL;",
    "{arg} IS NOT NULL",
)
V3_FUNCTION_SQL = _function("tether_step", PARAMETERS, *_RETURNS, version=3)
"""Schema v3's step function, as v3 created it (``FUNCTION_SQL`` replaces it in v4)."""
V3_PLAIN_FUNCTION_SQL = _function("tether_step_plain", PLAIN_PARAMETERS, *_RETURNS, version=3)
"""Schema v3's plain step function, as v3 created it."""

FUNCTION_SQL = _function("tether_step", PARAMETERS, *_RETURNS)
"""Schema v4's step function: NULL when the step was stored, else why not and the lease row
(``ARRAY[owner, expires, epoch, 'lease' | 'bases']``). A scalar result called as
``SELECT f(...)``, not ``SELECT * FROM f(...)`` with ``RETURN QUERY``: no function scan, no
result set built and read back, ~100 us less server time per step than v2's."""

PLAIN_FUNCTION_SQL = _function("tether_step_plain", PLAIN_PARAMETERS, *_RETURNS)
"""Schema v4's function for a plain step (``PLAIN_PARAMETERS``): its checkpoint row and
insert-if-absent writes, what most steps store. 26 arguments instead of 47: each one the
server parses, checks and passes on every call costs it ~1.5 us."""

ROW_SINCE = 7
"""The schema version from which a step's values go as one composite argument (``rowarg``)."""
PACKED_SINCE = 8
"""The schema version from which a task's writes are one row (``sqlite.writes``)."""
_PARAMETER_SETS = {
    (7, True): PLAIN_PARAMETERS,
    (7, False): PARAMETERS,
    (8, True): PACKED_PLAIN_PARAMETERS,
    (8, False): PACKED_PARAMETERS,
}
"""(schema version, plain) -> the composite type's fields."""
_OIDS = {
    key: tuple(rowarg.OIDS[f"{t}[]" if n in {a for a, _ in _ARRAYS} else t] for n, t in parameters)
    for key, parameters in _PARAMETER_SETS.items()
}
"""The oids of each composite type's fields (their parameters' types, in order)."""
_PARAMETER = re.compile(r"\bp_(\w+)")


def _names(version: int, plain: bool) -> tuple[str, str]:
    """The step function and its argument's type: ``tether_step7_plain``,
    ``tether_step7_plain_args``, ``tether_step8``, ..."""
    name = f"tether_step{version}{'_plain' if plain else ''}"
    return name, f"{name}_args"


def _row_function(version: int, plain: bool) -> tuple[str, str]:
    """The composite type of a (``plain``) step's values and the step function taking one
    of it: ``_function``'s body with each parameter ``p_x`` read as the field ``a.x``."""
    parameters = _PARAMETER_SETS[version, plain]
    name, type_name = _names(version, plain)
    fields = _signature(parameters).replace("p_", "")
    body_sql = _function(name, parameters, *_RETURNS, version=version)
    head, body = body_sql.split("LANGUAGE plpgsql", 1)
    head = head.replace(f"({_signature(parameters)})", f'(a "{{schema}}".{type_name})')
    create_type = f'CREATE TYPE "{{schema}}".{type_name} AS ({fields})'
    return create_type, head + "LANGUAGE plpgsql" + _PARAMETER.sub(r"a.\1", body)


ROW_FUNCTIONS_SQL = (*_row_function(7, True), *_row_function(7, False))
"""Schema v7's composite types and step functions: ``tether_step7_plain`` and ``tether_step7``
do what ``tether_step_plain`` and ``tether_step`` do, with one argument. Server instructions
per W1 step call (callgrind, recorded calls replayed): 670k -> 549k; a call of a function
with an empty body: 268k -> 133k (the rest is the statement, the commit and the answer)."""
PACKED_FUNCTIONS_SQL = (*_row_function(8, True), *_row_function(8, False))
"""Schema v8's: ``tether_step8_plain`` and ``tether_step8`` insert a row per task's writes;
when a task already has one (its second ``put_writes``, a retry) they store nothing more and
answer ``'writes'``: the caller stores the step through the transaction path, which merges."""
OLD_FUNCTIONS = (
    "tether_put_step",
    "tether_step",
    "tether_step_plain",
    "tether_step7",
    "tether_step7_plain",
)
"""The step functions of schema v2-v7 (a row per write), which v8 drops with v7's types."""


class Outcome(NamedTuple):
    """What the function judged: the thread's lease row and whether the step was stored."""

    lease: tuple[Any, Any, Any] | None
    lease_ok: bool
    bases_ok: bool
    """False when the step must go through the transaction path: a delta's base is gone, or a
    task's writes are stored already and the new ones need merging into them."""


Planned = list[tuple[str, str, deltas.BlobRow, Any]]


class Call(NamedTuple):
    """One call of a step function: which one and its arguments."""

    plain: bool
    """``tether_step_plain`` (``PLAIN_PARAMETERS``), else ``tether_step``."""
    args: list[Any]


def params(
    thread_id: str,
    ns: str,
    config: RunnableConfig,
    row: tuple[Any, ...] | None,
    writes: Sequence[task_writes.Encoded],
    planned: Planned,
    ttl: float,
    release: tuple[Lease, str | None] | None,
) -> Call | None:
    """The call that stores one step (``row`` None: task writes alone, no checkpoint): the plain
    function's when the step has nothing else, else ``tether_step8``'s; None when a write
    belongs to another thread (the caller stores such a step through the transaction path)."""
    token = lease_token(config)
    pieces: dict[str, bytes] = {}
    blob_rows = large.store_rows(
        (
            (r.kind, r.base_version, r.added, r.depth, r.chain_bytes, r.type_tag or None, r.data)
            for _, _, r, _ in planned
        ),
        5,
        6,
        pieces.update,
    )
    task_rows = _task_rows(writes, pieces)
    blob_rows = packing.squeeze_rows(blob_rows, 5, 6)
    if any(r[0] != thread_id for r in task_rows):
        return None
    bases = [(c, r.base_version) for c, _, r, _ in planned if r.kind in deltas.CHAINED]
    head = [
        thread_id,
        ns,
        token[0] if token else None,
        token[1] if token else None,
        time.time(),
        ttl,
        _stamp(),
        release[0].owner if release else None,
        release[0].epoch if release else None,
        release[1] if release else None,
        *(row[2:] if row is not None else _NO_CHECKPOINT),
    ]
    if not (bases or pieces or planned):
        return Call(True, [*head, *_columns(task_rows, _TASK_WRITE_TAGS, 1)])
    blobs = [(c, v, *r) for (c, v, _, _), r in zip(planned, blob_rows, strict=True)]
    return Call(
        False,
        [
            *head,
            *_columns(bases, _BASE_TAGS, 0),
            *_columns(list(pieces.items()), _PIECE_TAGS, 0),
            *_columns(task_rows, _TASK_WRITE_TAGS, 1),
            *_columns(blobs, _BLOB_TAGS, 0),
        ],
    )


def stored_form(entries: Sequence[Sequence[Any]]) -> list[task_writes.Entry]:
    """Entries as PostgreSQL stores them: values compressed where that makes them shorter."""
    return packing.squeeze_rows(entries, 2, 3)


def _task_rows(
    writes: Sequence[task_writes.Encoded], pieces: dict[str, bytes]
) -> list[tuple[Any, ...]]:
    """A row per task: what running the calls one after another leaves (a later call for the
    same task merges into the earlier one's entries by its rule), large values' pieces added
    to ``pieces``."""
    merged: dict[tuple[Any, ...], tuple[task_writes.Encoded, list[task_writes.Entry]]] = {}
    for call in writes:
        key = call[:4]
        if key in merged:
            first, entries = merged[key]
            merged[key] = (first, task_writes.merge(entries, call.entries, call.upsert))
        else:
            merged[key] = (call, call.entries)
    rows = []
    for call, entries in merged.values():
        stored = large.store_rows(entries, 2, 3, pieces.update)
        rows.append(task_writes.row_of(call, stored_form(stored), task_writes.holds_frame(stored)))
    return rows


def _columns(
    rows: Sequence[tuple[Any, ...]], tags: Sequence[type[list[Any]]], skip: int
) -> list[list[Any] | None]:
    """The columns of ``rows`` after the first ``skip``, as tagged arrays (``arrays``); NULLs
    when there are no rows (cheaper to send, and the function skips a NULL array)."""
    if not rows:
        return [None] * len(tags)
    columns = list(zip(*rows, strict=True))[skip:]
    return [tag(column) for tag, column in zip(tags, columns, strict=True)]


@functools.lru_cache(maxsize=64)
def call_sql(schema_name: str, plain: bool, version: int = PACKED_SINCE) -> str:
    """The statement that calls the (``plain``) step function in ``schema_name``.

    The arguments travel in binary (``%b``): psycopg adapts them in less than half the time it
    takes for text, and bytes go as they are, not hex-encoded. The arguments tether makes
    itself (lease, clock, tagged arrays: ``arrays``) go with their own type and no cast, which
    cost the server ~1 us each on every call (server CPU per W1 step 214 -> 201 us and
    315 -> 283 us in two interleaved replays without any cast); a NULL's type is left to the
    server, which takes the parameter's. The checkpoint row's values and the namespace come
    from the caller's config and metadata, so they keep a cast to their column's type.

    From schema v7 (``version``) the values go as one composite argument (``rowarg``) to the
    version's function, cast to its type."""
    if version >= ROW_SINCE:
        name, type_name = _names(version, plain)
        return f'SELECT "{schema_name}".{name}(%b::"{schema_name}".{type_name})'
    parameters = PLAIN_PARAMETERS if plain else PARAMETERS
    marks = ", ".join(f"%b::{t}" if n in _CAST else "%b" for n, t in parameters)
    name = "tether_step_plain" if plain else "tether_step"
    return f'SELECT "{schema_name}".{name}({marks})'


def _sent(conn: PgConn, call: Call) -> tuple[str, Sequence[Any]]:
    """The statement and argument that make ``call`` on ``conn`` (schema v8's functions)."""
    row = rowarg.Row(call.args, _OIDS[PACKED_SINCE, call.plain])
    return call_sql(conn.schema, call.plain), (row,)


def run(conn: PgConn, call: Call) -> Outcome:
    """Make ``call`` on ``conn``; what the function judged."""
    return _outcome(conn.value(*_sent(conn, call)))


def run_all(conn: PgConn, calls: Sequence[Call]) -> list[Outcome]:
    """Make the calls (one per step) in order, in one round trip: they go together
    (``PgConn.values``), so they run as one implicit transaction and commit together. What the
    function judged of each step."""
    got = conn.values([_sent(conn, c) for c in calls])
    return [_outcome(refused) for refused in got]


_STORED = Outcome(None, True, True)


def _outcome(refused: Any) -> Outcome:
    """What the function's answer (NULL, or why not and the lease row) says."""
    if refused is None:
        return _STORED
    owner, expires, epoch, why = refused
    lease = (
        None if epoch is None else (owner, None if expires is None else float(expires), int(epoch))
    )
    return Outcome(lease, why != "lease", why not in ("bases", "writes"))
