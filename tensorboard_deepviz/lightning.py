"""PyTorch Lightning: ``DeepVizCallback`` logs a LightningModule's training into the Trainer's TensorBoard run.

Example::

    from pytorch_lightning import Trainer
    from pytorch_lightning.loggers import TensorBoardLogger
    from tensorboard_deepviz.lightning import DeepVizCallback

    callback = DeepVizCallback((eval_images, eval_labels), class_names=names, checkpoint_every_n_steps=200)
    trainer = Trainer(max_epochs=5, logger=TensorBoardLogger("runs"), callbacks=[callback])
    trainer.fit(module, train_loader)

The callback is the training loop of ``DeepViz``'s docstring written as Lightning hooks: it builds a
``DeepViz`` on the LightningModule when fit starts, records ``log_step`` after every optimizer step
and ``log_checkpoint`` on its cadence, and closes it when fit ends (also after an exception or an
interrupt, so that everything queued is written).

PyTorch Lightning is an optional dependency (``pip install tensorboard-deepviz[lightning]``); this
module is the only one that imports it, and only when a user imports it. Both namespaces are
supported: the callback is a ``Callback`` of ``pytorch_lightning`` and of ``lightning.pytorch``,
whichever are installed.
"""

from __future__ import annotations

import importlib
import inspect
import warnings
from types import ModuleType
from typing import Any, Optional, Sequence

import torch

from .writer.deepviz import DeepViz, DeepVizError
from .writer.eval_set import EvalData

__all__ = ["DeepVizCallback"]

INSTALL_HINT = "pip install tensorboard-deepviz[lightning]"
# DeepViz arguments the callback supplies itself; every other keyword is passed through.
_SUPPLIED = ("writer", "model", "eval_data")


def _lightning_namespaces() -> list[ModuleType]:
    """The installed PyTorch Lightning 2.x namespaces, or an ImportError saying how to install one."""
    found: list[ModuleType] = []
    problems: list[str] = []
    for name in ("pytorch_lightning", "lightning.pytorch"):
        try:
            module = importlib.import_module(name)
        except ImportError as error:
            problems.append(f"{name}: {error}")
            continue
        major = str(getattr(module, "__version__", "0")).split(".")[0]
        if major.isdigit() and int(major) != 2:
            problems.append(f"{name} {module.__version__} is installed; DeepVizCallback needs version 2")
            continue
        found.append(module)
    if not found:
        raise ImportError(
            "tensorboard_deepviz.lightning needs PyTorch Lightning 2.x (" + "; ".join(problems) + "). "
            f"Install it with: {INSTALL_HINT}"
        )
    return found


_NAMESPACES = _lightning_namespaces()
_CALLBACKS: tuple[type, ...] = tuple(namespace.Callback for namespace in _NAMESPACES)
_TENSORBOARD_LOGGERS: tuple[type, ...] = tuple(namespace.loggers.TensorBoardLogger for namespace in _NAMESPACES)


class DeepVizCallback(*_CALLBACKS):  # type: ignore[misc]
    """Log what a LightningModule learns into the Trainer's ``TensorBoardLogger`` run.

    At the start of ``trainer.fit`` a ``DeepViz`` is built on the LightningModule (its ``forward``
    must map an image batch to ``[batch, classes]`` logits) writing through the logger's
    SummaryWriter, so the deepviz tab shows the run next to Lightning's scalars. Then:

    * a checkpoint at step 0 (the untrained network), when training starts from scratch;
    * ``log_step(trainer.global_step, loss=...)`` after every optimizer step, with the training
      step's loss (summed over the batches of an accumulated step, which Lightning has already
      divided by their number: their mean);
    * ``log_checkpoint`` every ``checkpoint_every_n_steps`` optimizer steps, and once more at the
      end of training when the last step was not one;
    * ``close()`` at the end of training; after an exception or a keyboard interrupt it closes too
      (records already queued are written; a failure to write them is warned about rather than
      hiding the training's own exception).

    Under a distributed strategy (DDP) every rank runs the same hooks at the same steps, as
    ``DeepViz`` requires; rank 0 writes into its logger's run and the other ranks give no writer.
    The step's loss is rank 0's, as Lightning logs a loss without ``sync_dist``.

    Args:
      eval_data: the fixed eval set, as ``DeepViz`` takes it: ``(images [N, C, H, W], labels [N])``
        tensors or a DataLoader yielding such pairs. Under DDP every rank must be given the same.
      class_names: one name per class (default ``"0"``, ``"1"``, ...).
      checkpoint_every_n_steps: optimizer steps between checkpoints (default 500).
      **options: any other ``DeepViz`` keyword argument (``probe``, ``layers``, ``clusters``,
        ``thumbnail_transform``, ``feature_vis``, ...); see ``tensorboard_deepviz.DeepViz``.

    Raises:
      ValueError: for a ``checkpoint_every_n_steps`` that is not a positive integer; when fit
        starts, for a Trainer without a ``TensorBoardLogger`` and for options ``DeepViz`` refuses.
      TypeError: for a keyword ``DeepViz`` does not take.
    """

    def __init__(
        self,
        eval_data: EvalData,
        class_names: Optional[Sequence[str]] = None,
        checkpoint_every_n_steps: int = 500,
        **options: Any,
    ) -> None:
        super().__init__()
        if (
            isinstance(checkpoint_every_n_steps, bool)
            or not isinstance(checkpoint_every_n_steps, int)
            or checkpoint_every_n_steps < 1
        ):
            raise ValueError(f"checkpoint_every_n_steps must be a positive integer, got {checkpoint_every_n_steps!r}")
        supplied = sorted(set(options) & set(_SUPPLIED))
        if supplied:
            raise TypeError(
                f"DeepVizCallback supplies {supplied} itself (the logger's writer, the LightningModule, eval_data); "
                "remove them from its keyword arguments"
            )
        accepted = set(inspect.signature(DeepViz.__init__).parameters) - {"self", *_SUPPLIED}
        unknown = sorted(set(options) - accepted)
        if unknown:
            raise TypeError(f"unknown DeepViz options {unknown}; DeepViz takes {sorted(accepted)}")
        self.eval_data = eval_data
        self.class_names = list(class_names) if class_names is not None else None
        self.checkpoint_every_n_steps = checkpoint_every_n_steps
        self.options = dict(options)
        self._viz: Optional[DeepViz] = None
        self._open = False
        self._last_step: Optional[int] = None  # the last step log_step recorded
        self._last_checkpoint: Optional[int] = None
        self._pending_loss: Optional[torch.Tensor] = None  # the loss of the batches since the last optimizer step

    @property
    def viz(self) -> Optional[DeepViz]:
        """The ``DeepViz`` of the current or last fit in this process (None before the first), closed after fit."""
        return self._viz

    # ------------------------------------------------------------------ Lightning hooks

    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        writer = _tensorboard_writer(trainer)
        try:
            self._viz = DeepViz(writer, pl_module, self.eval_data, class_names=self.class_names, **self.options)
        except (ValueError, TypeError) as error:
            kind = ValueError if isinstance(error, ValueError) else TypeError
            raise kind(f"DeepVizCallback cannot log {type(pl_module).__name__}: {error}") from error
        self._open = True
        self._last_step = None
        self._last_checkpoint = None
        self._pending_loss = None

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        # Here, unlike in on_fit_start, a resumed run's global_step is already restored.
        self._last_step = trainer.global_step
        if self._open and trainer.global_step == 0:
            self._checkpoint(0)  # the untrained network, for comparison

    def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        viz = self._viz
        if not self._open or viz is None:
            return
        loss = _loss_of(outputs)
        if loss is not None:
            # Accumulated batches' losses arrive divided by their number: their sum is the step's loss.
            pending = self._pending_loss
            if pending is not None and pl_module.automatic_optimization:
                loss = pending + loss
            self._pending_loss = loss
        step = trainer.global_step
        if step == self._last_step:
            return  # gradients are being accumulated: no optimizer step yet
        viz.log_step(step, loss=self._pending_loss)
        self._pending_loss = None
        self._last_step = step
        if step % self.checkpoint_every_n_steps == 0:
            self._checkpoint(step)

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        # Still inside the training stage: the model is on its device and the process group is up
        # (the Trainer's teardown, before on_fit_end, moves the model to the CPU and closes the logger).
        if not self._open:
            return
        if self._last_checkpoint != trainer.global_step:
            self._checkpoint(trainer.global_step)
        self._close()

    def on_fit_end(self, trainer: Any, pl_module: Any) -> None:
        self._close()  # a fit whose training loop never ran (max_steps=0, no batches)

    def teardown(self, trainer: Any, pl_module: Any, stage: str) -> None:
        self._close()

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        try:  # the training's own exception matters more than a failed record
            self._close()
        except DeepVizError as error:
            warnings.warn(str(error), RuntimeWarning, stacklevel=2)

    # ------------------------------------------------------------------ helpers

    def _checkpoint(self, step: int) -> None:
        assert self._viz is not None
        self._viz.log_checkpoint(step)
        self._last_checkpoint = step

    def _close(self) -> None:
        """Write everything queued and flush the writer (once); raises ``DeepVizError`` if records failed."""
        if not self._open or self._viz is None:
            return
        self._open = False
        self._pending_loss = None
        self._viz.close()


def _tensorboard_writer(trainer: Any) -> Any:
    """The SummaryWriter of the Trainer's first TensorBoardLogger on rank 0; None on the other ranks."""
    loggers = list(getattr(trainer, "loggers", []))
    chosen: Any = next((logger for logger in loggers if isinstance(logger, _TENSORBOARD_LOGGERS)), None)
    if chosen is None:
        has = ", ".join(type(logger).__name__ for logger in loggers) or "none (logger=False)"
        raise ValueError(
            "DeepVizCallback logs into the Trainer's TensorBoardLogger run, and this Trainer has no TensorBoardLogger "
            f"(its loggers: {has}); pass logger=TensorBoardLogger(save_dir) to the Trainer"
        )
    # Other ranks' experiment is Lightning's dummy: DeepViz writes on rank 0 only and takes None elsewhere.
    return chosen.experiment if trainer.is_global_zero else None


def _loss_of(outputs: Any) -> Optional[torch.Tensor]:
    """The loss in what ``training_step`` returned: a tensor, or a mapping's ``"loss"``; None otherwise."""
    if isinstance(outputs, torch.Tensor):
        loss = outputs
    elif isinstance(outputs, dict) or hasattr(outputs, "get"):
        loss = outputs.get("loss")
    else:
        return None
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        return None
    return loss.detach().reshape(())
