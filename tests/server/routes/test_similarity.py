"""routes.similarity: layer x layer linear CKA between two runs or checkpoints, on logs written by DeepViz."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch
from torch import nn

from tensorboard_deepviz import DeepViz
from tensorboard_deepviz.analysis import similarity
from tensorboard_deepviz.contract import metadata
from tensorboard_deepviz.server.errors import NotFound, RequestError
from tensorboard_deepviz.server.routes import similarity as route
from tests.server.small_log import RUN, route_request, small_log
from tests.support.checkpoints import MemoryWriter
from tests.support.fakelog import FakeLog
from tests.support.models import make_images

LAYERS = ["conv1", "conv2", "fc"]


class Net(nn.Module):
    """conv -> ReLU -> conv -> ReLU -> global average -> linear."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 3, padding=1)
        self.conv2 = nn.Conv2d(6, 5, 3, padding=1)
        self.fc = nn.Linear(5, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.conv2(torch.relu(self.conv1(x))))
        return self.fc(x.mean(dim=(2, 3)))


def _permuted(model: Net, seed: int) -> Net:
    """The same function with conv1's and conv2's units at other indices: every layer's features permuted."""
    generator = torch.Generator().manual_seed(seed)
    first, second = torch.randperm(6, generator=generator), torch.randperm(5, generator=generator)
    other = copy.deepcopy(model)
    with torch.no_grad():
        other.conv1.weight.copy_(model.conv1.weight[first])
        other.conv1.bias.copy_(model.conv1.bias[first])
        other.conv2.weight.copy_(model.conv2.weight[second][:, first])
        other.conv2.bias.copy_(model.conv2.bias[second])
        other.fc.weight.copy_(model.fc.weight[:, second])
    return other


def _write(log: FakeLog, run: str, model: nn.Module, steps=(0,), *, images=None, **options) -> None:
    """Log ``model`` with DeepViz at ``steps`` (between them, a small change of its weights) into ``log``."""
    if images is None:
        images = make_images(96, seed=0)
    writer = MemoryWriter()
    with DeepViz(writer, model, images, probe=2, clusters=2, layers=LAYERS, **options) as viz:
        for step in steps:
            viz.log_checkpoint(step)
            with torch.no_grad():
                for parameter in model.parameters():
                    parameter.add_(torch.randn_like(parameter) * 0.3)
    for _, step, summary in writer.summaries:
        log.add(run, summary, step)


def _answer(log: FakeLog, **args: str) -> dict:
    """The route's JSON answer, parsed as the page would parse it."""
    return json.loads(route.layer_similarity_route(route_request(log, **args)).compute().body)


def test_a_checkpoint_against_itself_is_one_on_the_diagonal_and_symmetric():
    torch.manual_seed(0)
    log = FakeLog()
    _write(log, "a", Net())
    body = _answer(log, run="a")
    assert (body["run"], body["step"], body["run_b"], body["step_b"]) == ("a", 0, "a", 0)
    assert body["layers_a"] == body["layers_b"] == LAYERS
    assert body["images"] == 96  # an eval set smaller than the sample: every image
    cka = np.array(body["cka"], dtype=float)
    np.testing.assert_allclose(np.diag(cka), 1.0, atol=1e-6)
    np.testing.assert_allclose(cka, cka.T, atol=1e-6)
    assert np.all((cka >= 0) & (cka <= 1))


def test_runs_whose_units_sit_at_other_indices_have_cka_one_for_matching_layers():
    torch.manual_seed(0)
    model = Net()
    permuted = _permuted(model, seed=3)
    log = FakeLog()
    _write(log, "a", model)
    _write(log, "b", permuted)
    body = _answer(log, run="a", run_b="b")
    cka = np.array(body["cka"], dtype=float)
    np.testing.assert_allclose(np.diag(cka), 1.0, atol=2e-3)
    assert cka[0, 2] < 0.99  # other layers are not the same representation


def test_the_record_gives_what_the_features_give():
    torch.manual_seed(0)
    model = Net()
    log = FakeLog()
    _write(log, "a", copy.deepcopy(model), similarity_images=40)
    images, _ = make_images(96, seed=0)
    sample = similarity.sample_indices(96, 40)
    features = {}
    hooks = [
        getattr(model, name).register_forward_hook(
            lambda m, i, o, name=name: features.__setitem__(name, (o.mean(dim=(2, 3)) if o.ndim == 4 else o).numpy())
        )
        for name in LAYERS
    ]
    with torch.no_grad():
        model(images[torch.as_tensor(sample)])
    for hook in hooks:
        hook.remove()
    body = _answer(log, run="a")
    assert body["images"] == 40
    expected = [[similarity.feature_cka(features[a], features[b]) for b in LAYERS] for a in LAYERS]
    np.testing.assert_allclose(np.array(body["cka"], dtype=float), expected, atol=3e-3)


def test_two_checkpoints_of_one_run_and_an_absent_step_b_meaning_a_s_step():
    torch.manual_seed(0)
    log = FakeLog()
    _write(log, "a", Net(), steps=(0, 5))
    body = _answer(log, run="a", step="0", step_b="5")
    assert (body["step"], body["step_b"]) == (0, 5)
    assert np.array(body["cka"], dtype=float)[0, 0] < 1.0 - 1e-3  # the weights moved between them
    same = _answer(log, run="a", step="5")
    assert (same["step"], same["step_b"]) == (5, 5)


def test_different_eval_sets_are_refused_naming_the_difference():
    torch.manual_seed(0)
    log = FakeLog()
    _write(log, "a", Net())
    images, labels = make_images(96, seed=0)
    _write(log, "b", Net(), images=(images, labels.roll(1)))
    with pytest.raises(RequestError, match=r"different eval sets: .* other labels"):
        _answer(log, run="a", run_b="b")


def test_a_log_without_similarity_records_gets_a_clear_404():
    log = small_log()
    with pytest.raises(NotFound, match="no similarity records"):
        _answer(log, run=RUN)


def test_records_turned_off_are_not_written():
    torch.manual_seed(0)
    log = FakeLog()
    _write(log, "a", Net(), similarity_images=0)
    assert metadata.tag_for(metadata.KIND_SIMILARITY) not in log.run("a").tags()
