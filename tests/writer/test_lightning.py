"""DeepVizCallback: a real LightningModule trained by a real Trainer logs into its TensorBoardLogger run."""

from __future__ import annotations

import glob
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Sampler, TensorDataset

pl = pytest.importorskip("pytorch_lightning")

from pytorch_lightning.loggers import CSVLogger, TensorBoardLogger  # noqa: E402

from tensorboard_deepviz.contract import metadata  # noqa: E402
from tensorboard_deepviz.lightning import DeepVizCallback  # noqa: E402
from tests.support.logreader import LogReader, open_logs  # noqa: E402
from tests.support.models import make_images  # noqa: E402

LAYERS = ["features.0", "features.3", "classifier"]
NAMES = list(metadata.STATISTIC_NAMES)
CHECKPOINT_TAG = metadata.tag_for(metadata.KIND_CHECKPOINT)
PREDICTIONS_TAG = metadata.tag_for(metadata.KIND_PREDICTIONS)
# Small settings so that every fit takes about a second.
OPTIONS = {"probe": 4, "clusters": 4, "nearest_per_cluster": 4, "top_images": 3}


class SmallCNN(pl.LightningModule):
    """Two conv layers and a linear head for 16x16 RGB images; no BatchNorm or Dropout, so DDP equals one process."""

    def __init__(self, fail_at_step: int = -1, failure: type[BaseException] = RuntimeError) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(2),
            nn.Flatten(),
        )
        self.classifier = nn.Linear(64, 4)
        self.fail_at_step = fail_at_step
        self.failure = failure
        self.losses: list[float] = []  # each training batch's loss, as training_step computed it

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(images))

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        if self.global_step == self.fail_at_step:
            raise self.failure("the training step failed")
        images, labels = batch
        loss = F.cross_entropy(self(images), labels)
        self.losses.append(float(loss.detach()))
        self.log("train_loss", loss)
        return loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.1)


def _data(count: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    return make_images(count)


def _loader(images: torch.Tensor, labels: torch.Tensor, batch_size: int) -> DataLoader:
    return DataLoader(TensorDataset(images, labels), batch_size=batch_size, shuffle=False)


def _trainer(tmp_path, callback, max_steps: int, **kwargs) -> pl.Trainer:
    kwargs.setdefault("logger", TensorBoardLogger(str(tmp_path), name="fit", version=0))
    kwargs.setdefault("accelerator", "cpu")
    kwargs.setdefault("devices", 1)
    return pl.Trainer(
        max_steps=max_steps,
        callbacks=[callback],
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        log_every_n_steps=1,
        **kwargs,
    )


def _losses(reader: LogReader, run: str) -> dict[int, float]:
    from tensorboard.data import provider as tb_provider

    tag = metadata.tag_for(metadata.KIND_LOSS)
    result = reader.provider.read_tensors(
        reader.ctx,
        experiment_id="",
        plugin_name=metadata.PLUGIN_NAME,
        run_tag_filter=tb_provider.RunTagFilter(runs=[run], tags=[tag]),
        downsample=1_000_000,
    )
    return {datum.step: float(datum.numpy) for datum in result.get(run, {}).get(tag, [])}


def _logits_argmax(module: nn.Module, images: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return module(images).argmax(1).numpy()


def test_fit_logs_every_optimizer_step_and_each_checkpoint_into_the_loggers_run(tmp_path):
    torch.manual_seed(0)
    images, labels = _data()
    eval_images, eval_labels = images[:64], labels[:64]
    module = SmallCNN()
    callback = DeepVizCallback(
        (eval_images, eval_labels), class_names=["a", "b", "c", "d"], checkpoint_every_n_steps=3, **OPTIONS
    )
    trainer = _trainer(tmp_path, callback, max_steps=7)
    trainer.fit(module, _loader(images, labels, 32))

    # The callback is closed: its DeepViz refuses more records, everything it queued is on disk.
    with pytest.raises(RuntimeError, match="closed"):
        callback.viz.log_step(8)
    run = "fit/version_0"
    assert os.path.normpath(trainer.logger.log_dir) == os.path.normpath(tmp_path / run)
    with open_logs(str(tmp_path), "python") as reader:
        assert reader.runs() == [run]  # the deepviz records share Lightning's run (its scalars too)
        # Step 0 (untrained), every third optimizer step, and the last step.
        assert reader.record_steps(run, CHECKPOINT_TAG) == [0, 3, 6, 7]
        assert reader.record_steps(run, PREDICTIONS_TAG) == [0, 3, 6, 7]
        for layer in LAYERS:
            assert sorted(reader.statistics(run, layer)) == list(range(1, 8))
        losses = _losses(reader, run)
        assert sorted(losses) == list(range(1, 8))
        assert [losses[step] for step in range(1, 8)] == pytest.approx(module.losses, rel=1e-6)
        # The last checkpoint shows the trained weights.
        final = reader.record(run, PREDICTIONS_TAG, 7).arrays["predicted"]
        np.testing.assert_array_equal(final, _logits_argmax(module, eval_images))
        corpus = reader.record(run, metadata.tag_for(metadata.KIND_CORPUS), 0)
        assert corpus.fields["class_names"] == ["a", "b", "c", "d"]
    # The module's own logging still reaches the same run.
    assert glob.glob(str(tmp_path / run / "events.out.tfevents*"))


def test_an_accumulated_step_is_logged_once_with_the_mean_loss_of_its_batches(tmp_path):
    torch.manual_seed(0)
    images, labels = _data(128)
    module = SmallCNN()
    callback = DeepVizCallback((images[:32], labels[:32]), checkpoint_every_n_steps=2, **OPTIONS)
    trainer = _trainer(tmp_path, callback, max_steps=3, accumulate_grad_batches=2)
    trainer.fit(module, _loader(images, labels, 16))

    run = "fit/version_0"
    with open_logs(str(tmp_path), "python") as reader:
        assert sorted(reader.statistics(run, "classifier")) == [1, 2, 3]  # optimizer steps, not batches
        assert reader.record_steps(run, CHECKPOINT_TAG) == [0, 2, 3]
        losses = _losses(reader, run)
    batch_losses = module.losses  # two batches per optimizer step
    assert len(batch_losses) == 6
    for step in (1, 2, 3):
        expected = (batch_losses[2 * step - 2] + batch_losses[2 * step - 1]) / 2
        assert losses[step] == pytest.approx(expected, rel=1e-5)


@pytest.fixture
def sigint_handler_restored():
    """Lightning ignores SIGINT from a keyboard interrupt on: give the test process its handler back."""
    handler = signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGINT, handler)


@pytest.mark.parametrize(
    "failure, raised",
    [(RuntimeError, RuntimeError), (KeyboardInterrupt, SystemExit)],  # Lightning exits after Ctrl+C
    ids=["exception", "interrupt"],
)
def test_an_exception_or_interrupt_closes_the_callback_with_every_record_so_far_written(
    tmp_path, failure, raised, sigint_handler_restored
):
    torch.manual_seed(0)
    images, labels = _data(128)
    module = SmallCNN(fail_at_step=4, failure=failure)
    callback = DeepVizCallback((images[:32], labels[:32]), checkpoint_every_n_steps=2, **OPTIONS)
    trainer = _trainer(tmp_path, callback, max_steps=10)
    with pytest.raises(raised):
        trainer.fit(module, _loader(images, labels, 16))

    with pytest.raises(RuntimeError, match="closed"):
        callback.viz.log_checkpoint(5)
    run = "fit/version_0"
    with open_logs(str(tmp_path), "python") as reader:
        assert sorted(reader.statistics(run, "classifier")) == [1, 2, 3, 4]
        assert reader.record_steps(run, CHECKPOINT_TAG) == [0, 2, 4]


def test_a_trainer_without_a_tensorboard_logger_is_refused_naming_the_problem(tmp_path):
    images, labels = _data(64)
    for logger, named in ((False, "none"), (CSVLogger(str(tmp_path)), "CSVLogger")):
        callback = DeepVizCallback((images[:16], labels[:16]), **OPTIONS)
        trainer = _trainer(tmp_path, callback, max_steps=2, logger=logger)
        with pytest.raises(ValueError, match=f"no TensorBoardLogger \\(its loggers: {named}") as error:
            trainer.fit(SmallCNN(), _loader(images, labels, 16))
        assert "logger=TensorBoardLogger(save_dir)" in str(error.value)


def test_wrong_arguments_are_refused_naming_the_problem(tmp_path):
    images, labels = _data(64)
    with pytest.raises(ValueError, match="checkpoint_every_n_steps must be a positive integer, got 0"):
        DeepVizCallback((images, labels), checkpoint_every_n_steps=0)
    with pytest.raises(TypeError, match=r"unknown DeepViz options \['clusterz'\]"):
        DeepVizCallback((images, labels), clusterz=3)
    with pytest.raises(TypeError, match="supplies \\['model'\\] itself"):
        DeepVizCallback((images, labels), model=SmallCNN())
    # What DeepViz refuses once it sees the module is named with the callback and the module's class.
    callback = DeepVizCallback((images, labels), class_names=["only", "three", "names"], **OPTIONS)
    trainer = _trainer(tmp_path, callback, max_steps=1)
    with pytest.raises(ValueError, match="DeepVizCallback cannot log SmallCNN: class_names has 3 names"):
        trainer.fit(SmallCNN(), _loader(images, labels, 16))


def test_importing_the_callback_without_lightning_says_how_to_install_it():
    code = (
        "import sys\n"
        "sys.modules['pytorch_lightning'] = None\n"  # as if neither namespace were installed
        "sys.modules['lightning'] = None\n"
        "sys.modules['lightning.pytorch'] = None\n"
        "try:\n"
        "    import tensorboard_deepviz.lightning\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert "needs PyTorch Lightning 2.x" in result.stdout
    assert "pip install tensorboard-deepviz[lightning]" in result.stdout


def test_the_example_trains_and_logs_into_its_run(tmp_path):
    from demo.lightning_example import main

    log_dir = main(["--logdir", str(tmp_path), "--epochs", "1", "--checkpoint-every", "100"])
    run = os.path.relpath(log_dir, tmp_path)
    with open_logs(str(tmp_path), "python") as reader:
        assert reader.runs() == [run]
        steps = reader.record_steps(run, CHECKPOINT_TAG)
        assert steps[0] == 0 and len(steps) == 2  # the untrained network and the end of the one epoch
        assert sorted(reader.statistics(run, "net.conv1")) == list(range(1, steps[-1] + 1))


# ---------------------------------------------------------------------------- DDP

DDP_STEPS = 4
DDP_BATCH = 16  # per rank; the single process takes both ranks' batches at once


class _RankSlice(Sampler):
    """Images rank, rank + world, ... in order: each step the ranks see together what one process sees.

    Lightning's own distributed sampler always shuffles training data, so the DDP run would see
    other batches than the single process; the rank is looked up when iterating, inside the rank.
    """

    def __init__(self, count: int) -> None:
        self.count = count

    def _rank_and_world(self) -> tuple[int, int]:
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            return torch.distributed.get_rank(), torch.distributed.get_world_size()
        return 0, 1

    def __iter__(self):
        rank, world = self._rank_and_world()
        return iter(range(rank, self.count, world))

    def __len__(self) -> int:
        return self.count // self._rank_and_world()[1]


def _fit_for_ddp_comparison(tmp_path, name: str, **trainer_options) -> None:
    torch.manual_seed(0)
    images, labels = _data(256)
    callback = DeepVizCallback((images[:64], labels[:64]), checkpoint_every_n_steps=2, **OPTIONS)
    ranks = trainer_options.get("devices", 1)
    trainer = _trainer(
        tmp_path,
        callback,
        max_steps=DDP_STEPS,
        logger=TensorBoardLogger(str(tmp_path), name=name, version=0),
        use_distributed_sampler=False,
        **trainer_options,
    )
    # Rank r takes images r, r + 2, ...: each step the two ranks see together the same
    # 2 x DDP_BATCH images as the single process, and DDP averages their gradients as that
    # process's mean loss does.
    loader = DataLoader(TensorDataset(images, labels), batch_size=DDP_BATCH * 2 // ranks, sampler=_RankSlice(256))
    trainer.fit(SmallCNN(), loader)


def test_under_ddp_only_rank_0_writes_and_the_records_equal_a_single_process_run(tmp_path):
    _fit_for_ddp_comparison(tmp_path, "single")
    _fit_for_ddp_comparison(tmp_path, "ddp", strategy="ddp_spawn", accelerator="cpu", devices=2)

    # Rank 1 opened no run of its own and wrote no event file.
    assert sorted(os.listdir(tmp_path / "ddp")) == ["version_0"]
    assert len(glob.glob(str(tmp_path / "ddp" / "version_0" / "events.out.tfevents*"))) == 1
    with open_logs(str(tmp_path), "python") as reader:
        assert reader.runs() == ["ddp/version_0", "single/version_0"]
        # One record per step: nothing written twice.
        assert reader.record_steps("ddp/version_0", CHECKPOINT_TAG) == [0, 2, 4]
        for step in (0, 2, 4):
            single = reader.record("single/version_0", PREDICTIONS_TAG, step).arrays
            ddp = reader.record("ddp/version_0", PREDICTIONS_TAG, step).arrays
            np.testing.assert_array_equal(ddp["predicted"], single["predicted"])
            np.testing.assert_allclose(ddp["confidence"], single["confidence"], atol=2e-3)
        single_statistics = reader.statistics("single/version_0", "features.0")
        ddp_statistics = reader.statistics("ddp/version_0", "features.0")
    assert sorted(ddp_statistics) == list(range(1, DDP_STEPS + 1))
    activations = metadata.STATISTIC_SOURCES.index("activations")
    for step in range(1, DDP_STEPS + 1):
        # Activation moments of both ranks' batches combined are the single process's batch's.
        ddp_row, single_row = ddp_statistics[step][activations], single_statistics[step][activations]
        assert ddp_row[NAMES.index("count")] == single_row[NAMES.index("count")]
        assert ddp_row[NAMES.index("mean")] == pytest.approx(single_row[NAMES.index("mean")], rel=1e-4)
