"""The checkpoint byte budget: what a deep model keeps, the same units at every checkpoint, small models unchanged."""

from __future__ import annotations

import collections
import glob
import os
import warnings

import numpy as np
import pytest
import torch
from tensorboard.backend.event_processing import event_file_loader
from torch import nn

from tensorboard_deepviz import DeepViz
from tensorboard_deepviz.contract import metadata, records
from tensorboard_deepviz.writer import budget
from tests.support.models import SmallResNet, make_images

# SmallResNet(channels=64): 668 KB per checkpoint in full; under 400 KB it is "deep".
LIMIT = 400_000
STAGES = ["stem.0", "stage.0.conv2", "head.5"]  # the last logged layer of each top-level child


def _events(logdir: str):
    for path in sorted(glob.glob(os.path.join(logdir, "events*"))):
        yield from event_file_loader.EventFileLoader(path).Load()


def _bytes_per_step(logdir: str) -> dict[int, int]:
    """Event-file bytes of each checkpoint's records (an event's proto plus its 16 bytes of framing).

    Checkpoint records are blob sequences; log_step's statistics (small tensors) are not counted.
    """
    sizes: dict[int, int] = collections.defaultdict(int)
    for event in _events(logdir):
        if any(value.tag.startswith("deepviz/") and value.tensor.string_val for value in event.summary.value):
            sizes[event.step] += event.ByteSize() + 16
    return dict(sizes)


def _records(logdir: str) -> dict[tuple[str, int], records.Record]:
    """Every blob-sequence record by (tag, step)."""
    found = {}
    for event in _events(logdir):
        for value in event.summary.value:
            if value.tag.startswith("deepviz/") and value.tensor.string_val:
                found[(value.tag, event.step)] = records.decode_record(list(value.tensor.string_val))
    return found


def _tags(logdir: str) -> set[str]:
    return {value.tag for event in _events(logdir) for value in event.summary.value}


def _log(logdir: str, model: nn.Module, steps=(1,), train=False, **options) -> DeepViz:
    images, labels = make_images(64)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    with DeepViz(logdir, model, (images, labels), probe=8, batch_size=32, **options) as viz:
        for step in steps:
            if train:
                loss = nn.functional.cross_entropy(model(images), labels)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            viz.log_step(step)
            viz.log_checkpoint(step)
    return viz


@pytest.fixture(scope="module")
def deep_log(tmp_path_factory):
    torch.manual_seed(0)
    model = SmallResNet(channels=64)
    logdir = str(tmp_path_factory.mktemp("deep"))
    viz = _log(logdir, model, steps=(1, 2), train=True, checkpoint_bytes=LIMIT)
    return logdir, viz, model


def test_a_deep_model_keeps_one_activation_layer_per_stage_and_every_layers_statistics(deep_log):
    logdir, viz, _ = deep_log
    plan = viz.checkpoint_plan
    assert plan.deep and plan.activation_layers == STAGES and plan.units_layers == STAGES
    tags = _tags(logdir)
    layers = viz.layers
    assert {t for t in tags if t.startswith("deepviz/activations/")} == {f"deepviz/activations/{n}" for n in STAGES}
    assert {t for t in tags if t.startswith("deepviz/units/")} == {f"deepviz/units/{n}" for n in STAGES}
    similarity = _records(logdir)[("deepviz/similarity", 2)]
    assert similarity.fields["layers"] == STAGES
    for layer in layers:  # statistics and weights of every layer, whatever the budget
        assert metadata.tag_for(metadata.KIND_STATISTICS, layer) in tags
        assert metadata.tag_for(metadata.KIND_WEIGHTS, layer) in tags


def test_every_checkpoint_of_a_deep_model_fits_its_budget(deep_log):
    logdir, viz, _ = deep_log
    sizes = _bytes_per_step(logdir)
    for step in (1, 2):
        assert sizes[step] <= LIMIT, f"checkpoint {step}: {sizes[step]} bytes"
    assert viz.checkpoint_plan.total <= LIMIT


def test_the_first_layer_stays_whole_and_deeper_layers_keep_the_same_first_filters(deep_log):
    logdir, viz, model = deep_log
    found = _records(logdir)
    kept = viz.checkpoint_plan.kept_filters
    assert kept["stem.0"] == 64 and kept["stage.0.conv1"] < 64
    first = found[("deepviz/weights/stem.0", 2)]
    assert first.arrays["weights"].shape[0] == 64 and first.fields["total_filters"] == 64
    for step in (1, 2):
        record = found[("deepviz/weights/stage.0.conv1", step)]
        assert record.arrays["weights"].shape[0] == kept["stage.0.conv1"]
        assert record.fields["total_filters"] == 64
    # The last checkpoint's record holds the model's first filters as they are now (float16).
    weight = model.stage[0].conv1.weight.detach()[: kept["stage.0.conv1"]].to(torch.float16).numpy()
    np.testing.assert_array_equal(found[("deepviz/weights/stage.0.conv1", 2)].arrays["weights"], weight)
    # Training moved them between the checkpoints: the same units, seen changing.
    assert not np.array_equal(
        found[("deepviz/weights/stage.0.conv1", 1)].arrays["weights"],
        found[("deepviz/weights/stage.0.conv1", 2)].arrays["weights"],
    )


def test_a_small_model_logs_exactly_what_it_logs_without_a_budget(tmp_path):
    logs = {}
    for name, limit in (("default", budget.DEFAULT_CHECKPOINT_BYTES), ("none", None)):
        torch.manual_seed(0)
        logdir = str(tmp_path / name)
        viz = _log(logdir, SmallResNet(), checkpoint_bytes=limit)
        assert not viz.checkpoint_plan.deep
        logs[name] = _records(logdir)
    assert logs["default"].keys() == logs["none"].keys()
    assert any(tag.startswith("deepviz/activations/") for tag, _ in logs["none"])
    for key, record in logs["none"].items():
        other = logs["default"][key]
        assert other.fields == record.fields, key
        assert other.arrays.keys() == record.arrays.keys(), key
        if key[0].startswith(("deepviz/weights/", "deepviz/activations/")):
            for array in record.arrays:
                np.testing.assert_array_equal(other.arrays[array], record.arrays[array])


def test_activation_layers_are_expandable_by_name(tmp_path):
    torch.manual_seed(0)
    chosen = ["stage.0.conv1", *STAGES]
    viz = _log(str(tmp_path), SmallResNet(channels=64), checkpoint_bytes=LIMIT * 2, activation_layers=chosen)
    tags = _tags(str(tmp_path))
    wanted = {f"deepviz/activations/{n}" for n in chosen}
    assert {t for t in tags if t.startswith("deepviz/activations/")} == wanted
    assert viz.checkpoint_plan.activation_layers == ["stem.0", "stage.0.conv1", "stage.0.conv2", "head.5"]


def test_a_budget_too_small_for_one_filter_per_layer_warns_and_still_logs(tmp_path):
    torch.manual_seed(0)
    with pytest.warns(RuntimeWarning, match="over checkpoint_bytes=1000"):
        viz = _log(str(tmp_path), SmallResNet(channels=64), checkpoint_bytes=1000)
    kept = viz.checkpoint_plan.kept_filters
    assert kept["stem.0"] == 64 and all(kept[name] == 1 for name in viz.layers[1:])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"checkpoint_bytes": 0}, "checkpoint_bytes must be a positive integer or None"),
        ({"checkpoint_bytes": "5MB"}, "checkpoint_bytes must be a positive integer or None"),
        ({"activation_layers": "some"}, "activation_layers must be 'auto', 'all'"),
        ({"activation_layers": ["stem.1"]}, r"activation_layers \['stem.1'\] are not logged layers"),
    ],
)
def test_wrong_budget_options_are_refused_naming_the_problem(tmp_path, options, message):
    images, labels = make_images(16)
    with pytest.raises(ValueError, match=message):
        DeepViz(str(tmp_path), SmallResNet(), (images, labels), **options)


def _shape(name: str, output: tuple[int, ...]) -> budget.LayerShape:
    return budget.LayerShape(name, (output[0], 3, 3, 3), output)


def test_a_stage_is_a_top_level_child_or_else_a_run_of_one_resolution():
    nested = [_shape("conv1", (8, 16, 16)), _shape("layer1.0.a", (8, 16, 16)), _shape("layer1.1.a", (8, 16, 16))]
    nested += [_shape("layer2.0.a", (16, 8, 8)), _shape("fc", (10,))]
    assert budget.stage_layers(nested) == ["conv1", "layer1.1.a", "layer2.0.a", "fc"]
    flat = [_shape("0", (8, 16, 16)), _shape("3", (8, 16, 16)), _shape("6", (16, 8, 8)), _shape("9", (16, 8, 8))]
    flat += [_shape("12", (10,))]
    assert budget.stage_layers(flat) == ["3", "9", "12"]


def test_the_plan_keeps_one_filter_count_for_every_deeper_layer_and_fits():
    layers = [_shape("conv1", (64, 32, 32))] + [_shape(f"block{i}.conv", (256, 8, 8)) for i in range(6)]
    shape = budget.EvalShape(images=100, classes=10, probes=4, top_images=9, clusters=10, nearest_per_cluster=5)
    plan = budget.plan_checkpoint(layers, shape, limit=500_000, max_weight_values=10**6)
    assert plan.deep and plan.total <= 500_000
    deeper = {plan.kept_filters[layer.name] for layer in layers[1:]}
    assert len(deeper) == 1 and 1 <= deeper.pop() < 256 and plan.kept_filters["conv1"] == 64
    # One filter more per layer would not fit.
    more = {name: min(count + 1, 256) if name != "conv1" else count for name, count in plan.kept_filters.items()}
    by_name = {layer.name: layer for layer in layers}
    extra = sum(
        budget.weights_bytes(by_name[n], c) - budget.weights_bytes(by_name[n], plan.kept_filters[n])
        for n, c in more.items()
    )
    assert plan.total + extra > 500_000


def test_nothing_is_cut_without_a_budget():
    layers = [_shape("conv1", (64, 32, 32))] + [_shape(f"block{i}.conv", (256, 8, 8)) for i in range(6)]
    shape = budget.EvalShape(images=100, classes=10, probes=4, top_images=9, clusters=10, nearest_per_cluster=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plan = budget.plan_checkpoint(layers, shape, limit=None, max_weight_values=10**6)
    assert not plan.deep and plan.activation_layers == [layer.name for layer in layers]
    assert all(plan.kept_filters[layer.name] == layer.filters for layer in layers)
