"""DeepViz writes logs that TensorBoard's own loaders (Python and Rust) read back exactly."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.utils.tensorboard import SummaryWriter

from tensorboard_deepviz import DeepViz
from tensorboard_deepviz.contract import codes, metadata
from tests.support.logreader import LOADERS, open_logs
from tests.support.models import SMALL_RESNET_LAYERS, SmallResNet, make_images

CLASS_NAMES = ["up-left", "up-right", "down-left", "down-right"]
CHECKPOINTS = (0, 3, 5)
STEPS = 6


def _train_and_log(logdir: str) -> dict:
    """Train a few steps, logging every step and at CHECKPOINTS; return what the model was at each."""
    torch.manual_seed(0)
    model = SmallResNet()
    images, labels = make_images()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    expected: dict = {"weights": {}, "logits": {}, "probe_outputs": {}, "statistics": {}, "inputs": {}}
    writer = SummaryWriter(os.path.join(logdir, "run"))
    viz = DeepViz(writer, model, (images, labels), class_names=CLASS_NAMES, probe=6, clusters=5, batch_size=40)
    modules = dict(model.named_modules())
    for step in range(STEPS):
        batch = slice((step * 16) % 96, (step * 16) % 96 + 16)
        loss = F.cross_entropy(model(images[batch]), labels[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        viz.log_step(step)
        expected["inputs"][step] = images[batch].double()  # what the first logged layer received
        expected["statistics"][step] = {
            name: (
                torch.cat([p.detach().reshape(-1) for p in modules[name].parameters(recurse=False)]),
                torch.cat([p.grad.reshape(-1) for p in modules[name].parameters(recurse=False)]),
            )
            for name in viz.layers
        }
        if step in CHECKPOINTS:
            viz.log_checkpoint(step)
            expected["weights"][step] = {name: modules[name].weight.detach().clone() for name in viz.layers}
            expected["logits"][step], expected["probe_outputs"][step] = _independent_forward(model, images, viz)
    viz.close()
    writer.close()
    expected.update(images=images, labels=labels, layers=viz.layers, probe=viz.probe_images)
    return expected


def _independent_forward(model, images, viz) -> tuple[torch.Tensor, dict]:
    """What the logged predictions and probe activations should be, computed without DeepViz."""
    outputs = {}
    modules = dict(model.named_modules())

    def keep_first_output(name):
        def hook(module, inputs, output):
            outputs.setdefault(name, output.detach().clone())  # returns None: the output stays as it is

        return hook

    handles = [modules[name].register_forward_hook(keep_first_output(name)) for name in viz.layers]
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(images[viz.probe_images])
        logits = model(images)
    model.train(was_training)
    for handle in handles:
        handle.remove()
    return logits, outputs


@pytest.fixture(scope="module")
def logged(tmp_path_factory) -> tuple[str, dict]:
    logdir = str(tmp_path_factory.mktemp("roundtrip"))
    return logdir, _train_and_log(logdir)


@pytest.mark.parametrize("loader", LOADERS)
def test_weights_at_every_checkpoint_equal_the_model(logged, loader):
    logdir, expected = logged
    assert expected["layers"] == SMALL_RESNET_LAYERS
    with open_logs(logdir, loader) as reader:
        assert reader.runs() == ["run"]
        tags = reader.blob_tags("run")
        for layer in SMALL_RESNET_LAYERS:
            tag = metadata.tag_for(metadata.KIND_WEIGHTS, layer)
            assert tags[tag] == metadata.RecordInfo(metadata.KIND_WEIGHTS, layer, metadata.PROTO_VERSION)
            assert reader.record_steps("run", tag) == list(CHECKPOINTS)
            for step in CHECKPOINTS:
                record = reader.record("run", tag, step)
                logged_weights = record.arrays["weights"].astype(np.float32)
                model_weights = expected["weights"][step][layer].numpy()
                assert logged_weights.shape == model_weights.shape
                np.testing.assert_allclose(logged_weights, model_weights, rtol=1e-3, atol=1e-4)
        # Weights change between checkpoints, so equality above is not vacuous.
        first = reader.record("run", metadata.tag_for(metadata.KIND_WEIGHTS, "stem.0"), 0).arrays["weights"]
        last = reader.record("run", metadata.tag_for(metadata.KIND_WEIGHTS, "stem.0"), 5).arrays["weights"]
        assert not np.array_equal(first, last)


@pytest.mark.parametrize("loader", LOADERS)
def test_predictions_and_confusion_match_an_independent_forward_pass(logged, loader):
    logdir, expected = logged
    labels = expected["labels"].numpy()
    with open_logs(logdir, loader) as reader:
        for step in CHECKPOINTS:
            logits = expected["logits"][step]
            predicted = logits.argmax(dim=1).numpy()
            prediction_record = reader.record("run", "deepviz/predictions", step)
            np.testing.assert_array_equal(prediction_record.arrays["predicted"], predicted)
            probabilities = torch.softmax(logits, dim=1).numpy()
            np.testing.assert_allclose(
                prediction_record.arrays["probe_probabilities"].astype(np.float32),
                probabilities[expected["probe"]],
                atol=2e-3,
            )
            confusion = reader.record("run", "deepviz/confusion", step)
            counts = confusion.arrays["counts"]
            assert counts.sum() == len(labels)
            independent = np.zeros((4, 4), dtype=np.int64)
            np.add.at(independent, (labels, predicted), 1)
            np.testing.assert_array_equal(counts, independent)
            offsets, cell_images = confusion.arrays["cell_offsets"], confusion.arrays["cell_images"]
            for true_class in range(4):
                for predicted_class in range(4):
                    cell = true_class * 4 + predicted_class
                    members = cell_images[offsets[cell] : offsets[cell + 1]]
                    assert len(members) == counts[true_class, predicted_class]
                    assert (labels[members] == true_class).all() and (predicted[members] == predicted_class).all()


@pytest.mark.parametrize("loader", LOADERS)
def test_clusters_cover_every_eval_image(logged, loader):
    logdir, expected = logged
    count = len(expected["labels"])
    with open_logs(logdir, loader) as reader:
        for step in CHECKPOINTS:
            record = reader.record("run", "deepviz/clusters", step)
            assignment = record.arrays["assignment"]
            assert assignment.shape == (count,)
            assert set(np.unique(assignment)) <= set(range(5))
            assert record.arrays["sizes"].sum() == count
            np.testing.assert_array_equal(np.bincount(assignment, minlength=5), record.arrays["sizes"])
            nearest = record.arrays["nearest"]
            assert nearest.shape == (5, 20) and nearest.min() >= 0 and nearest.max() < count
            assert ((record.arrays["purity"] >= 0) & (record.arrays["purity"] <= 1)).all()
            assert record.arrays["projection"].shape == (count, 2)
            assert record.fields["layer"] == "input of head.5" and record.fields["metric"] == "euclidean"


@pytest.mark.parametrize("loader", LOADERS)
def test_probe_activations_dequantize_to_the_layer_outputs(logged, loader):
    logdir, expected = logged
    with open_logs(logdir, loader) as reader:
        for layer in SMALL_RESNET_LAYERS:
            record = reader.record("run", metadata.tag_for(metadata.KIND_ACTIVATIONS, layer), 5)
            assert list(record.arrays["probe_images"]) == expected["probe"]
            values = codes.dequantize_activations(record.arrays["codes"], record.arrays["ranges"])
            truth = expected["probe_outputs"][5][layer].numpy()
            assert values.shape == truth.shape
            ranges = record.arrays["ranges"]
            step_size = (ranges[..., 1] - ranges[..., 0]).max() / (codes.FINITE_LEVELS - 1)
            np.testing.assert_allclose(values, truth, atol=step_size * 0.51 + 1e-6)


@pytest.mark.parametrize("loader", LOADERS)
def test_corpus_and_graph_are_written_once(logged, loader):
    logdir, expected = logged
    with open_logs(logdir, loader) as reader:
        assert reader.record_steps("run", "deepviz/corpus") == [0]
        assert reader.record_steps("run", "deepviz/graph") == [0]
        corpus = reader.record("run", "deepviz/corpus", 0)
        assert corpus.fields["class_names"] == CLASS_NAMES
        assert corpus.arrays["thumbnails"].shape == (96, 16, 16, 3)
        np.testing.assert_array_equal(corpus.arrays["labels"], expected["labels"].numpy())
        graph = reader.record("run", "deepviz/graph", 0).fields
        nodes = {node["id"]: node for node in graph["nodes"]}
        assert nodes["stage.0.conv1"]["type"] == "Conv2d" and nodes["stage.0.conv1"]["logged"]
        assert nodes["head.5"]["output_shape"] == [1, 4]
        edges = {(edge["source"], edge["target"]) for edge in graph["edges"]}
        # The residual block: its second ReLU call receives both bn2 and the skip from the stem.
        assert ("stage.0.bn2", "stage.0.relu#2") in edges
        assert ("stem.2", "stage.0.relu#2") in edges
        assert ("input", "stem.0") in edges and ("head.5", "output") in edges
        parents = {module["name"]: module["parent"] for module in graph["modules"]}
        assert parents["stage.0.conv1"] == "stage.0" and parents["stage.0"] == "stage"
        assert graph["logged_layers"] == SMALL_RESNET_LAYERS


@pytest.mark.parametrize("loader", LOADERS)
def test_layer_statistics_at_every_step(logged, loader):
    logdir, expected = logged
    names = list(metadata.STATISTIC_NAMES)
    with open_logs(logdir, loader) as reader:
        assert set(reader.tensor_tags("run")) == {
            metadata.tag_for(metadata.KIND_STATISTICS, layer) for layer in SMALL_RESNET_LAYERS
        } | {metadata.tag_for(metadata.KIND_INPUTS)}
        inputs = reader.tensors("run", metadata.tag_for(metadata.KIND_INPUTS))
        assert sorted(inputs) == list(range(STEPS))
        input_names = list(metadata.INPUT_STATISTIC_NAMES)
        for step, row in inputs.items():
            batch = expected["inputs"][step]
            assert row[input_names.index("count")] == batch.numel()
            np.testing.assert_allclose(
                [row[input_names.index(name)] for name in ("mean", "std", "min", "max")],
                [batch.mean(), batch.std(correction=0), batch.min(), batch.max()],
                rtol=1e-5,
                atol=1e-7,
            )
        for layer in SMALL_RESNET_LAYERS:
            rows_by_step = reader.statistics("run", layer)
            assert sorted(rows_by_step) == list(range(STEPS))
            for step, rows in rows_by_step.items():
                weight, gradient = (t.double().numpy() for t in expected["statistics"][step][layer])
                for row, values in ((rows[0], weight), (rows[1], gradient)):
                    assert row[names.index("count")] == values.size
                    np.testing.assert_allclose(row[names.index("mean")], values.mean(), rtol=1e-4, atol=1e-7)
                    np.testing.assert_allclose(row[names.index("std")], values.std(), rtol=1e-3, atol=1e-7)
                    assert row[names.index("min")] == pytest.approx(values.min(), rel=1e-6)
                    assert row[names.index("max")] == pytest.approx(values.max(), rel=1e-6)
                    np.testing.assert_allclose(row[names.index("norm")], np.linalg.norm(values), rtol=1e-4)
                assert rows[2][names.index("count")] > 0  # activations of the training forward pass
