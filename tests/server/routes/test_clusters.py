"""routes.clusters: the logged K-Means clusters and projection at a checkpoint."""

from __future__ import annotations

from tensorboard_deepviz.contract import metadata
from tensorboard_deepviz.server.routes import clusters
from tests.server.small_log import RUN, route_request, small_log


def test_the_clusters_are_the_logged_record():
    run = small_log().run(RUN)
    body = clusters.answer_clusters(run, run.locate(metadata.KIND_CLUSTERS, step=0))
    assert body["step"] == 0 and body["layer"] == "head" and body["metric"] == "euclidean"
    assert body["assignment"] == [0, 1, 1, 0, 1, 1] and body["sizes"] == [2, 4] and body["nearest"] == [[0, 3], [1, 2]]
    assert body["majority_class"] == [0, 1] and body["purity"] == [1.0, 0.5] and body["nonfinite_images"] == 0
    assert body["projection"][5] == [10.0, 11.0]


def test_the_route_answers_the_newest_checkpoint_by_default():
    reply = clusters.clusters_route(route_request(small_log(), run=RUN))
    assert reply.identity[:5] == ("clusters", "", RUN, "deepviz/clusters", 2)
