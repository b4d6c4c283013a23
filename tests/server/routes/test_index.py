"""routes.index: every run's summary."""

from __future__ import annotations

from tensorboard_deepviz.contract import metadata
from tensorboard_deepviz.server.routes import index
from tests.server.small_log import RUN, route_request, small_log, write_run


def test_runs_are_listed_by_name_with_their_summaries():
    log = small_log()
    write_run(log, "another")
    body = index.answer_index(log.experiment(), lambda run: {"run": run.run})
    assert body == {"version": metadata.PROTO_VERSION, "runs": [{"run": "another"}, {"run": RUN}]}
    assert index.answer_index(log.experiment())["runs"][1]["checkpoints"] == [0, 2]


def test_the_route_reads_a_runs_summary_again_only_when_its_tags_have_new_steps():
    log = small_log()
    request = route_request(log)
    reply = index.index_route(request)
    assert reply.identity is None
    reads = log.blob_reads
    index.index_route(request).compute()
    first = log.blob_reads
    index.index_route(request).compute()
    assert log.blob_reads == first >= reads
