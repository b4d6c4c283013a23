"""Reads deepviz records through TensorBoard's data provider, with caching.

Everything comes from ``context.data_provider`` (the Python loader or the Rust data server);
no file path ever comes from a request. Records are decoded once, brought to the current layout
(``contract.migrations``) and cached: the data of a (run, tag, step) does not change.

``LogAccess`` is one per plugin and holds the caches. A request binds it once to its context and
experiment (``LogAccess.for_experiment``) and to a run (``ExperimentAccess.for_run``); routes read
through that ``RunAccess`` without passing the context, experiment and run to every call.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
import threading
import time
from typing import Any, Optional, Sequence

import numpy as np
from tensorboard.data import provider as tb_provider

from ..contract import metadata, migrations, records
from .cache import ByteBoundedLRU
from .errors import NotFound, Unreadable

logger = logging.getLogger(__name__)

# How long a listing of runs and tags is reused: short, so a live log shows new checkpoints.
LISTING_TTL_SECONDS = 1.0
UNLIMITED_DOWNSAMPLE = 2**31 - 1


@dataclasses.dataclass(frozen=True)
class TagInfo:
    """One deepviz tag of a run: its kind, layer, and (for freshness) its newest step."""

    tag: str
    kind: str
    layer: str
    max_step: int
    max_wall_time: float
    # The metadata version the tag was written with; its records are migrated from it.
    version: int = metadata.PROTO_VERSION


@dataclasses.dataclass(frozen=True)
class StepRef:
    """The blobs of one step of a blob-sequence tag."""

    step: int
    wall_time: float
    blob_keys: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class RecordRef:
    """One record of a run: a tag at a step. What a route answers about, and what names its answer."""

    experiment: str
    run: str
    info: TagInfo
    ref: StepRef

    @property
    def step(self) -> int:
        return self.ref.step

    @property
    def tag(self) -> str:
        return self.info.tag

    def identity(self, route: str, *params: Any) -> tuple:
        """The key of ``route``'s answer about this record with ``params``: its ETag and cache key.

        The wall time is part of it, so a run rewritten under the same name gets new answers.
        """
        return (route, self.experiment, self.run, self.info.tag, self.ref.step, self.ref.wall_time, params)


def _record_bytes(record: records.Record) -> int:
    return sum(a.nbytes for a in record.arrays.values()) + 1024


class LogAccess:
    """Typed, cached access to the deepviz data of one TensorBoard instance."""

    def __init__(self, data_provider: Any, *, downsample: int = 0, record_cache_bytes: int = 512 << 20) -> None:
        self._provider = data_provider
        self._downsample = downsample if downsample > 0 else UNLIMITED_DOWNSAMPLE
        self._records = ByteBoundedLRU(record_cache_bytes, _record_bytes)
        self._sequences = ByteBoundedLRU(64 << 20, lambda refs: 200 * len(refs) + 200)
        self._listings: dict[str, tuple[float, dict[str, dict[str, TagInfo]]]] = {}
        self._listing_lock = threading.Lock()
        self._warned: set[tuple[str, str]] = set()
        # Many calls to the Rust data server take ~44 ms however small the answer (on loopback:
        # the signature of Nagle's algorithm meeting delayed ACKs on its socket, which this
        # plugin cannot set): calls that do not depend on each other are made concurrently.
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=16, thread_name_prefix="deepviz-read")

    # ------------------------------------------------------------------ listing

    def listing(self, ctx: Any, experiment_id: str) -> dict[str, dict[str, TagInfo]]:
        """``{run: {tag: TagInfo}}`` for every run with deepviz data (blobs and tensors)."""
        now = time.monotonic()
        with self._listing_lock:
            cached = self._listings.get(experiment_id)
            if cached is not None and now - cached[0] < LISTING_TTL_SECONDS:
                return cached[1]
        result: dict[str, dict[str, TagInfo]] = {}
        listings = [
            self._pool.submit(list_series, ctx, experiment_id=experiment_id, plugin_name=metadata.PLUGIN_NAME)
            for list_series in (self._provider.list_blob_sequences, self._provider.list_tensors)
        ]
        for listing in (future.result() for future in listings):
            for run, tags in listing.items():
                for tag, series in tags.items():
                    info = self._parse(run, tag, series)
                    if info is not None:
                        result.setdefault(run, {})[tag] = info
        with self._listing_lock:
            self._listings[experiment_id] = (now, result)
        return result

    def _parse(self, run: str, tag: str, series: Any) -> Optional[TagInfo]:
        try:
            info = metadata.parse_plugin_metadata(series.plugin_content)
        except (ValueError, TypeError) as error:  # unknown version or kind: skip, say so once
            if (run, tag) not in self._warned:
                self._warned.add((run, tag))
                logger.warning("deepviz: skipping %s/%s: %s", run, tag, error)
            return None
        return TagInfo(tag, info.kind, info.layer, int(series.max_step), float(series.max_wall_time), info.version)

    def for_experiment(self, ctx: Any, experiment_id: str) -> ExperimentAccess:
        """This access bound to one request's context and experiment."""
        return ExperimentAccess(self, ctx, experiment_id)

    # ------------------------------------------------------------ blob records

    def steps(self, ctx: Any, experiment_id: str, run: str, info: TagInfo) -> list[StepRef]:
        """Every step of a blob-sequence tag, ascending."""
        key = (experiment_id, run, info.tag, info.max_step, info.max_wall_time)
        refs = self._sequences.get(key)
        if refs is None:
            result = self._provider.read_blob_sequences(
                ctx,
                experiment_id=experiment_id,
                plugin_name=metadata.PLUGIN_NAME,
                downsample=self._downsample,
                run_tag_filter=tb_provider.RunTagFilter(runs=[run], tags=[info.tag]),
            )
            data = result.get(run, {}).get(info.tag, [])
            refs = sorted(
                (StepRef(d.step, d.wall_time, tuple(v.blob_key for v in d.values)) for d in data),
                key=lambda ref: ref.step,
            )
            self._sequences.put(key, refs)
        return refs

    def step_ref(self, ctx: Any, experiment_id: str, run: str, info: TagInfo, step: Optional[int]) -> StepRef:
        """The given step of a tag, or its latest when ``step`` is None; ``NotFound`` otherwise."""
        refs = self.steps(ctx, experiment_id, run, info)
        if not refs:
            raise NotFound(f"{info.tag} in run {run!r} has no steps yet")
        if step is None:
            return refs[-1]
        for ref in refs:
            if ref.step == step:
                return ref
        raise NotFound(f"{info.tag} in run {run!r} has no step {step}; {_describe_steps([r.step for r in refs])}")

    def record(
        self, ctx: Any, experiment_id: str, run: str, info: TagInfo, ref: StepRef, *, header_only: bool = False
    ) -> records.Record:
        """Decoded record of one step (only its header fields and array shapes with ``header_only``)."""
        key = (experiment_id, run, info.tag, ref.step, ref.wall_time, header_only)
        cached = self._records.get(key)
        if cached is not None:
            return cached
        keys = ref.blob_keys[:1] if header_only else ref.blob_keys
        try:
            blobs = self.read_blobs(ctx, keys)
            if header_only:
                header = records.decode_header(blobs[0]) if blobs else None
                if header is None:
                    raise records.RecordError("record has no blobs")
                decoded = records.Record(fields=dict(header["fields"], _arrays=header["arrays"]), arrays={})
            else:
                decoded = records.decode_record(blobs)
            # Header-only records go through the same migrations: their fields may have moved too.
            upgraded = migrations.upgrade_record(info.kind, info.version, decoded)
        except ValueError as error:  # records.RecordError, or a migration that refused the record
            raise Unreadable(f"{info.tag} at step {ref.step} in run {run!r} is unreadable: {error}") from None
        if not isinstance(upgraded, records.Record):
            raise Unreadable(f"{info.tag} at step {ref.step} in run {run!r} did not migrate to a record")
        self._records.put(key, upgraded)
        return upgraded

    def read_blobs(self, ctx: Any, keys: Sequence[str]) -> list[bytes]:
        """Read blobs concurrently, in order."""
        if len(keys) <= 1:
            return [self._provider.read_blob(ctx, blob_key=key) for key in keys]
        futures = [self._pool.submit(self._provider.read_blob, ctx, blob_key=key) for key in keys]
        return [future.result() for future in futures]

    def headers(
        self, ctx: Any, experiment_id: str, run: str, info: TagInfo, refs: Sequence[StepRef]
    ) -> list[records.Record]:
        """Header-only records of many steps, read concurrently (cached ones are not read again)."""
        futures = [self._pool.submit(self.record, ctx, experiment_id, run, info, ref, header_only=True) for ref in refs]
        return [future.result() for future in futures]

    # ----------------------------------------------------------------- tensors

    def statistics(
        self, ctx: Any, experiment_id: str, run: str, infos: Sequence[TagInfo]
    ) -> dict[str, list[tuple[int, np.ndarray]]]:
        """``{layer: [(step, rows [3, 9]), ...]}`` for the given statistics tags, steps ascending."""
        if not infos:
            return {}
        series = self._tensor_series(ctx, experiment_id, run, infos)
        expected = (len(metadata.STATISTIC_SOURCES), len(metadata.STATISTIC_NAMES))
        return {info.layer: [(s, r) for s, r in series[info.tag] if r.shape == expected] for info in infos}

    def tensors(self, ctx: Any, experiment_id: str, run: str, info: TagInfo) -> list[tuple[int, np.ndarray]]:
        """``[(step, value), ...]`` of one tensor tag (the loss, input statistics), steps ascending.

        Values pass through ``contract.migrations``; one that cannot be read is skipped.
        """
        return self._tensor_series(ctx, experiment_id, run, [info])[info.tag]

    def _tensor_series(
        self, ctx: Any, experiment_id: str, run: str, infos: Sequence[TagInfo]
    ) -> dict[str, list[tuple[int, np.ndarray]]]:
        """``{tag: [(step, value), ...]}`` in one read, values in the current layout, steps ascending."""
        result = self._provider.read_tensors(
            ctx,
            experiment_id=experiment_id,
            plugin_name=metadata.PLUGIN_NAME,
            downsample=self._downsample,
            run_tag_filter=tb_provider.RunTagFilter(runs=[run], tags=[info.tag for info in infos]),
        )
        series = {}
        for info in infos:
            rows = [(d.step, _statistics_row(info, d.numpy)) for d in result.get(run, {}).get(info.tag, [])]
            series[info.tag] = sorted(((s, r) for s, r in rows if r is not None), key=lambda item: item[0])
        return series


def _statistics_row(info: TagInfo, value: Any) -> Optional[np.ndarray]:
    """One logged statistics tensor in the current layout, or None when it cannot be read (skipped)."""
    try:
        upgraded = migrations.upgrade_record(info.kind, info.version, np.asarray(value, dtype=np.float64))
    except ValueError:
        return None
    return np.asarray(upgraded, dtype=np.float64) if isinstance(upgraded, np.ndarray) else None


class ExperimentAccess:
    """``LogAccess`` bound to one request's context and experiment."""

    def __init__(self, log: LogAccess, ctx: Any, experiment_id: str) -> None:
        self.log = log
        self.ctx = ctx
        self.experiment = experiment_id

    def listing(self) -> dict[str, dict[str, TagInfo]]:
        """``{run: {tag: TagInfo}}`` for every run with deepviz data."""
        return self.log.listing(self.ctx, self.experiment)

    def for_run(self, run: str) -> RunAccess:
        """Reads of one run (which need not exist: its first read says so with ``NotFound``)."""
        return RunAccess(self, run)


class RunAccess:
    """Typed reads of one run's records, bound to a request's context and experiment.

    The run's tags are listed once, on first use, and kept for the request: what a route answers
    and the identity it answers under come from the same listing even while the log grows.
    """

    def __init__(self, experiment: ExperimentAccess, run: str) -> None:
        self._log = experiment.log
        self._ctx = experiment.ctx
        self.experiment = experiment.experiment
        self.run = run
        self._tags: Optional[dict[str, TagInfo]] = None

    def tags(self) -> dict[str, TagInfo]:
        """The run's tags; ``NotFound`` naming the known runs if it has no deepviz data."""
        if self._tags is None:
            listing = self._log.listing(self._ctx, self.experiment)
            if self.run not in listing:
                known = ", ".join(sorted(listing)) or "none"
                raise NotFound(f"unknown run {self.run!r}; runs with deepviz data: {known}")
            self._tags = listing[self.run]
        return self._tags

    def tag(self, kind: str, layer: str = "") -> TagInfo:
        """The tag of ``kind`` (and ``layer``); ``NotFound`` naming the layers that have it otherwise."""
        tags = self.tags()
        tag = metadata.tag_for(kind, layer)
        if tag not in tags:
            if layer:
                layers = sorted(self.layers_with(kind))
                raise NotFound(
                    f"run {self.run!r} has no {kind} for layer {layer!r}; layers: {', '.join(layers) or 'none'}"
                )
            raise NotFound(f"run {self.run!r} has no {kind} records")
        return tags[tag]

    def layers_with(self, kind: str) -> dict[str, TagInfo]:
        """``{layer: TagInfo}`` of a per-layer kind."""
        return {info.layer: info for info in self.tags().values() if info.kind == kind}

    def steps(self, info: TagInfo) -> list[StepRef]:
        """Every step of a blob-sequence tag, ascending."""
        return self._log.steps(self._ctx, self.experiment, self.run, info)

    def locate(self, kind: str, layer: str = "", step: Optional[int] = None) -> RecordRef:
        """The record of ``kind`` (and ``layer``) at ``step``, or the newest when ``step`` is None.

        Raises:
          NotFound: naming the run's layers or steps when there is no such record.
        """
        info = self.tag(kind, layer)
        ref = self._log.step_ref(self._ctx, self.experiment, self.run, info, step)
        return RecordRef(self.experiment, self.run, info, ref)

    def record_at(self, info: TagInfo, ref: StepRef) -> RecordRef:
        """The record of ``info`` at one of its steps (from ``steps``)."""
        return RecordRef(self.experiment, self.run, info, ref)

    def read(self, at: RecordRef, *, header_only: bool = False, arrays: Sequence[str] = ()) -> records.Record:
        """The decoded record (only its header fields and array shapes with ``header_only``).

        Raises:
          Unreadable: the record lacks one of ``arrays`` (a crafted or damaged log), naming them.
        """
        record = self._log.record(self._ctx, self.experiment, self.run, at.info, at.ref, header_only=header_only)
        missing = [name for name in arrays if name not in record.arrays]
        if missing:
            raise Unreadable(f"{at.tag} at step {at.step} lacks {', '.join(missing)}")
        return record

    def latest(self, kind: str, *, header_only: bool = False) -> Optional[records.Record]:
        """The newest record of a kind logged once per run (graph, corpus), or None when there is none."""
        info = self.tags().get(metadata.tag_for(kind))
        if info is None:
            return None
        refs = self.steps(info)
        if not refs:
            return None
        return self._log.record(self._ctx, self.experiment, self.run, info, refs[-1], header_only=header_only)

    def headers(self, info: TagInfo, refs: Sequence[StepRef]) -> list[records.Record]:
        """Header-only records of many steps of a tag, read concurrently."""
        return self._log.headers(self._ctx, self.experiment, self.run, info, refs)

    def statistics(self, infos: Sequence[TagInfo]) -> dict[str, list[tuple[int, np.ndarray]]]:
        """``{layer: [(step, rows [3, 9]), ...]}`` for the given statistics tags, steps ascending."""
        return self._log.statistics(self._ctx, self.experiment, self.run, infos)

    def tensors(self, info: TagInfo) -> list[tuple[int, np.ndarray]]:
        """``[(step, value), ...]`` of one tensor tag (the loss, input statistics), steps ascending."""
        return self._log.tensors(self._ctx, self.experiment, self.run, info)


def _describe_steps(steps: Sequence[int]) -> str:
    if len(steps) <= 12:
        return "steps: " + ", ".join(map(str, steps))
    return f"{len(steps)} steps from {steps[0]} to {steps[-1]}"
