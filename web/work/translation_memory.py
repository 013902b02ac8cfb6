"""A project's translation memory: past results whose source is close to a new one.

:func:`similar_results` gives up to three past results of the same project, fuzzy-matched with
rapidfuzz, each with its source, its translation and the score (percent).

Why it keeps a cache. The memory is the project's results stream (``P:results``: the results in
the order they were decided, never trimmed) joined to the tasks' payloads (``P:payloads``, where
the source is). Reading the 2,000 newest results and their payloads on every task page would
cost each page view about a megabyte from Redis and tens of milliseconds of parsing, for data
that only ever grows at the end. So each API process keeps, per project (the 32 most recently
used), the comparison keys of its newest 2,000 results (two per result, as typed and with its
words sorted, at most 500 characters each: at most 2 MB a project, far less for the usual
sentence or two) and, per page view, reads only the results published since it
last looked (``XREVRANGE … + (<last id>``: nothing, most of the time) and the payloads of those.
The keys it matches on are thus always current, on every process, with no invalidation to get
wrong; the full texts of the (at most three) matches are read afresh. A stream shorter than when
last seen (the project deleted, the store restored) empties the project's cache.

Tenant isolation: a project's cache is keyed by key prefix and project id and filled only from
that project's own keys, so another project's results are never among its candidates.
Round trips per call: two (one when nothing new was published and nothing matches).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz, process

from core import ids
from core.board.operations import text
from core.redis.keys import Keys
from task_types.translation.similarity import similarity_key

__all__ = [
    "MEMORY_CUTOFF",
    "MEMORY_WINDOW",
    "Match",
    "TranslationMemory",
    "similar_results",
]

#: How many of a project's newest results the memory matches against.
MEMORY_WINDOW = 2_000
#: The lowest similarity (percent) worth showing.
MEMORY_CUTOFF = 60
#: Sources are compared on their first this-many characters (of their comparison key).
MEMORY_KEY_CHARS = 500
#: Projects whose keys one process keeps (least recently used dropped first).
MEMORY_PROJECTS = 32


@dataclass(frozen=True, slots=True)
class Match:
    """A past result of the project: its source, the translation it got, how alike (percent)."""

    source: str
    translation: str
    score: int


@dataclass(frozen=True, slots=True)
class _Entry:
    cursor: str  # the result's stream entry id
    task_id: str
    key: str  # similarity_key of the source, cut to MEMORY_KEY_CHARS
    sorted_key: str  # the same with its words sorted (token_sort_ratio, computed once)
    languages: str  # "<source_lang>><target_lang>", lower-cased
    translation_hash: int  # tells apart two results of one source that differ in translation


@dataclass(slots=True)
class _ProjectMemory:
    length: int = 0  # the stream's length when last read
    last: str = "0-0"  # the newest entry id read
    entries: list[_Entry] = field(default_factory=list)  # newest first


def _sorted(key: str) -> str:
    return " ".join(sorted(key.split()))


def _stream_id(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def _languages(source_lang: str | None, target_lang: str | None) -> str:
    return f"{(source_lang or '').lower()}>{(target_lang or '').lower()}"


def _translation_of(raw_answer: str) -> str | None:
    try:
        answer = json.loads(raw_answer)
    except ValueError:
        return None
    found = answer.get("text") if isinstance(answer, dict) else None
    return found if isinstance(found, str) and found.strip() else None


def _payload_of(raw: str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        payload = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("source_text"), str):
        return None
    return payload


class TranslationMemory:
    """The per-process cache of :func:`similar_results` (see the module's docstring)."""

    def __init__(self, window: int = MEMORY_WINDOW, projects: int = MEMORY_PROJECTS) -> None:
        self.window = window
        self.projects = projects
        self._memories: OrderedDict[tuple[str, str], _ProjectMemory] = OrderedDict()

    def _memory(self, keys: Keys, project_id: str) -> _ProjectMemory:
        slot = (keys.prefix, project_id)
        memory = self._memories.get(slot)
        if memory is None:
            memory = self._memories[slot] = _ProjectMemory()
            while len(self._memories) > self.projects:
                self._memories.popitem(last=False)
        self._memories.move_to_end(slot)
        return memory

    async def _refresh(self, client: Any, keys: Keys, project_id: str) -> _ProjectMemory:
        """Reads the results published since last time (and their sources): two round trips,
        one when nothing is new."""
        pk = keys.project(project_id)
        memory = self._memory(keys, project_id)
        async with client.pipeline(transaction=False) as pipe:
            pipe.xlen(pk.results)
            pipe.xrevrange(pk.results, "+", f"({memory.last}", count=self.window)
            length, fresh = await pipe.execute()
        if int(length) < memory.length:  # the stream was deleted or replaced: start again
            memory = self._memories[(keys.prefix, project_id)] = _ProjectMemory()
            return await self._refresh(client, keys, project_id)
        results = []
        for entry_id, raw in fresh or []:
            fields = {text(k): text(v) for k, v in raw.items()}
            translation = _translation_of(fields.get("answer", "null"))
            if translation is not None and fields.get("task_id"):
                results.append((text(entry_id), fields["task_id"], translation))
        by_task: dict[str, Any] = {}
        if results:
            task_ids = sorted({task_id for _, task_id, _ in results})
            payloads = await client.hmget(pk.payloads, task_ids)
            by_task = dict(zip(task_ids, payloads, strict=True))
        new = []
        for cursor, task_id, translation in results:
            payload = _payload_of(None if by_task[task_id] is None else text(by_task[task_id]))
            if payload is None:
                continue
            key = similarity_key(payload["source_text"])[:MEMORY_KEY_CHARS]
            languages = _languages(payload.get("source_lang"), payload.get("target_lang"))
            entry = _Entry(cursor, task_id, key, _sorted(key), languages, hash(translation))
            new.append(entry)
        self._merge(memory, new, fresh, int(length))
        return memory

    def _merge(
        self, memory: _ProjectMemory, new: list[_Entry], fresh: Sequence[Any], length: int
    ) -> None:
        # Another coroutine may have merged the same entries meanwhile: keep what is newer.
        last = _stream_id(memory.last)
        new = [entry for entry in new if _stream_id(entry.cursor) > last]
        if fresh:
            newest = text(fresh[0][0])
            if _stream_id(newest) > last:
                memory.last = newest
        memory.length = max(memory.length, length)
        if not new:
            return
        seen_tasks: set[str] = set()
        seen_pairs: set[tuple[str, str, int]] = set()
        kept = []
        # Newest first: a task decided again (reopened) keeps its latest result, and a source
        # translated the same way twice is listed once.
        for entry in [*new, *memory.entries]:
            pair = (entry.key, entry.languages, entry.translation_hash)
            if entry.task_id in seen_tasks or pair in seen_pairs:
                continue
            seen_tasks.add(entry.task_id)
            seen_pairs.add(pair)
            kept.append(entry)
            if len(kept) >= self.window:
                break
        memory.entries = kept

    async def similar(
        self,
        client: Any,
        keys: Keys,
        project_id: str,
        source_text: str,
        *,
        source_lang: str | None = None,
        target_lang: str | None = None,
        exclude_task_id: str | None = None,
        limit: int = 3,
        cutoff: int = MEMORY_CUTOFF,
    ) -> list[Match]:
        ids.validate_project_id(project_id)
        memory = await self._refresh(client, keys, project_id)
        query = similarity_key(source_text)[:MEMORY_KEY_CHARS]
        if not query or limit < 1:
            return []
        languages = _languages(source_lang, target_lang)
        candidates = [
            entry
            for entry in memory.entries
            if entry.task_id != exclude_task_id
            and (source_lang is None or target_lang is None or entry.languages == languages)
        ]
        scores: dict[int, float] = {}
        # The larger of two scores, as the task type's own similarity: character-level (typos,
        # inflections), and the same on the words sorted (rapidfuzz's token_sort_ratio, with
        # the candidates' sorted words kept in the cache: a fifth of the CPU of sorting them on
        # every call; about 3 ms for 2,000 candidates).
        plain = [entry.key for entry in candidates]
        words_sorted = [entry.sorted_key for entry in candidates]
        for mine, theirs in ((query, plain), (_sorted(query), words_sorted)):
            for _, score, index in process.extract(
                mine,
                theirs,
                scorer=fuzz.ratio,
                score_cutoff=cutoff,
                limit=None,
            ):
                scores[index] = max(scores.get(index, 0.0), float(score))
        # Best first; between equals, the newest (candidates are newest first).
        best = sorted(scores, key=lambda index: (-scores[index], index))[:limit]
        if not best:
            return []
        chosen = [candidates[index] for index in best]
        pk = keys.project(project_id)
        async with client.pipeline(transaction=False) as pipe:
            for entry in chosen:
                pipe.xrange(pk.results, entry.cursor, entry.cursor)
            pipe.hmget(pk.payloads, [entry.task_id for entry in chosen])
            *entries, payloads = await pipe.execute()
        matches = []
        for found, raw_payload, index in zip(entries, payloads, best, strict=True):
            payload = _payload_of(None if raw_payload is None else text(raw_payload))
            if not found or payload is None:
                continue
            fields = {text(k): text(v) for k, v in found[0][1].items()}
            translation = _translation_of(fields.get("answer", "null"))
            if translation is not None:
                score = round(scores[index])
                matches.append(Match(payload["source_text"], translation, score))
        return matches


_MEMORY = TranslationMemory()


async def similar_results(
    client: Any,
    keys: Keys,
    project_id: str,
    source_text: str,
    *,
    source_lang: str | None = None,
    target_lang: str | None = None,
    exclude_task_id: str | None = None,
    limit: int = 3,
    memory: TranslationMemory | None = None,
) -> list[Match]:
    """Up to ``limit`` past results of project ``project_id`` whose source is like
    ``source_text`` (at least :data:`MEMORY_CUTOFF` percent alike), best first: each with its
    source, its translation (the result's answer) and the score. Given the languages, only
    results between the same two (tags compared whole, case-blind). ``exclude_task_id``: the
    task being answered (a reopened task has a result of its own). ``client``: an asyncio Redis
    client (``decode_responses`` or not)."""
    return await (memory or _MEMORY).similar(
        client,
        keys,
        project_id,
        source_text,
        source_lang=source_lang,
        target_lang=target_lang,
        exclude_task_id=exclude_task_id,
        limit=limit,
    )
