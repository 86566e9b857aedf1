"""The offline embedder (``index={"embed": "tether:local"}``), run with the network cut off.

A child process loads it with ``HF_HUB_OFFLINE=1``, an empty home and cache, and every socket
connection refused, then ranks a small labelled set of memories written for this test. The
hit rate (right memory ranked first) is recorded in ``RECORDED_HITS``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("wordllama", reason='needs pip install "tether[embeddings]"')

MEMORIES = {
    "python": "The user writes most of their code in Python",
    "night": "They usually work late at night",
    "peanuts": "Allergic to peanuts and tree nuts",
    "dark": "Prefers the dark theme in every editor",
    "dog": "Has a golden retriever named Max",
    "coffee": "Drinks black coffee every morning",
    "paris": "Lives in Paris, France",
    "guitar": "Plays the guitar in a band on weekends",
    "vegan": "Follows a vegan diet, no meat or dairy",
    "marathon": "Is training to run a marathon in spring",
    "spanish": "Is learning to speak Spanish",
    "daughter": "Has a daughter who starts school next year",
}
QUERIES = {
    "Which programming language do they use?": "python",
    "When do they work?": "night",
    "Any food allergies?": "peanuts",
    "What editor color scheme should I use?": "dark",
    "Do they have pets?": "dog",
    "What do they drink in the morning?": "coffee",
    "Which city do they live in?": "paris",
    "What musical instrument do they play?": "guitar",
    "Can I serve them a steak?": "vegan",
    "What sport are they training for?": "marathon",
    "What foreign language are they studying?": "spanish",
    "Do they have children?": "daughter",
    "Where is their home?": "paris",
    "Are they a night owl?": "night",
    "What should I cook for them?": "vegan",
    "Is there an animal in the house?": "dog",
}
RECORDED_HITS = 14  # of 16, wordllama 0.4.0; misses: "Where is their home?" (-> night),
# "What should I cook for them?" (-> dark; vegan second). The test asks for at least 12.

CHILD = textwrap.dedent(
    """
    import json, socket, sys

    def refuse(*args, **kwargs):
        raise OSError("network access attempted in an offline test")

    socket.socket.connect = refuse
    socket.create_connection = refuse

    from tether.store.memory import InMemoryStore

    memories, queries = json.loads(sys.stdin.read())
    store = InMemoryStore(index={"embed": "tether:local", "fields": ["text"]})
    for key, text in memories.items():
        store.put(("user",), key, {"text": text})
    ranked = {q: [i.key for i in store.search(("user",), query=q, limit=3)] for q in queries}
    print(json.dumps({"dims": store.index_config["dims"], "ranked": ranked}))
    """
)


def test_local_embedder_ranks_labelled_memories_offline(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HOME": str(tmp_path),
        "HF_HOME": str(tmp_path / "hf"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    done = subprocess.run(
        [sys.executable, "-c", CHILD],
        input=json.dumps([MEMORIES, list(QUERIES)]),
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    hits = [q for q, want in QUERIES.items() if out["ranked"][q][0] == want]

    assert out["dims"] == 256
    assert len(hits) >= RECORDED_HITS - 2, {q: out["ranked"][q] for q in QUERIES if q not in hits}
    assert not list((tmp_path).rglob("*.safetensors"))  # nothing was downloaded
