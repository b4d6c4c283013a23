"""The checkpoint's one batched eval pass: one set of taps, every collector per batch, isolation, failures."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

from tensorboard_deepviz.writer import capture
from tensorboard_deepviz.writer.checkpoint import EvalPass, write_checkpoint
from tensorboard_deepviz.writer.collectors import Batch, CheckpointContext, CheckpointSink, Collector, Tap, host_copy
from tests.support.checkpoints import memory_sink, scalar_summary
from tests.support.models import SmallResNet, make_images


class Spy(Collector[list[Any]]):
    """Records every call it receives; writes one scalar summary (the number of batches it saw)."""

    def __init__(self, name: str, taps: tuple[Tap, ...] = (), *, fail_in: str = "", due_every: int = 1) -> None:
        self.name = name
        self._taps = taps
        self.fail_in = fail_in
        self.due_every = due_every
        self.calls: list[tuple[Any, ...]] = []
        self.hooks_seen: list[int] = []  # hooks on the tapped module, seen from inside the pass
        self._modules: dict[str, nn.Module] = {}

    def _maybe_fail(self, where: str) -> None:
        if self.fail_in == where:
            raise ValueError(f"{self.name} failed in {where}")

    def due(self, step: int) -> bool:
        self._maybe_fail("due")
        return step % self.due_every == 0

    def taps(self) -> tuple[Tap, ...]:
        self._maybe_fail("taps")
        return self._taps

    def begin(self, context: CheckpointContext) -> None:
        self._maybe_fail("begin")
        self._modules = dict(context.model.named_modules())
        self.calls.append(("begin", context.step, context.model.training, torch.is_grad_enabled()))

    def on_tap(self, batch: Batch, tap: Tap, tensor: torch.Tensor) -> None:
        self._maybe_fail("on_tap")
        module = self._modules[tap.module]
        self.hooks_seen.append(len(module._forward_hooks) + len(module._forward_pre_hooks))
        self.calls.append(("tap", batch.indices, tap, tuple(tensor.shape), batch.logits is None))

    def on_batch(self, batch: Batch) -> None:
        self._maybe_fail("on_batch")
        assert batch.logits is not None
        self.calls.append(("batch", batch.indices, tuple(batch.logits.shape), batch.labels.tolist()))

    def finish(self) -> list[Any]:
        self._maybe_fail("finish")
        return [call for call in self.calls if call[0] == "batch"]

    def write(self, snapshot: list[Any], sink: CheckpointSink) -> None:
        sink.add(scalar_summary(f"spy/{self.name}/first", float(len(snapshot))))
        self._maybe_fail("write")
        sink.add(scalar_summary(f"spy/{self.name}/second", float(sink.step)))


@pytest.fixture
def model() -> SmallResNet:
    torch.manual_seed(0)
    return SmallResNet()


def _pass(model: nn.Module, count: int = 10, batch_size: int = 4) -> EvalPass:
    images, labels = make_images(count)
    return EvalPass(model, images, labels, batch_size)


def test_taps_are_installed_once_and_every_collector_sees_every_batch(model):
    forward_calls = []
    model.register_forward_pre_hook(lambda module, inputs: forward_calls.append(len(inputs[0])))
    stem, head = Tap("stem.0"), Tap("head.5", input=True)
    first, second = Spy("first", (stem, head)), Spy("second", (stem,))
    job = _pass(model).run(7, [first, second])
    assert forward_calls == [4, 4, 2]  # one pass over the eval set, in batches; no probe pass
    # One hook on stem.0 for both collectors (SmallResNet has none of its own).
    assert first.hooks_seen and set(first.hooks_seen) == {1} and set(second.hooks_seen) == {1}
    ranges = [range(0, 4), range(4, 8), range(8, 10)]
    labels = make_images(10)[1]
    for spy in (first, second):
        batches = [call for call in spy.calls if call[0] == "batch"]
        assert [call[1] for call in batches] == ranges
        assert [call[3] for call in batches] == [labels[r.start : r.stop].tolist() for r in ranges]
    taps = [call for call in first.calls if call[0] == "tap"]
    assert [(call[1], call[2]) for call in taps] == [(r, tap) for r in ranges for tap in (stem, head)]
    assert all(call[4] for call in taps)  # taps arrive during the forward pass, before the logits
    assert taps[0][3] == (4, 8, 16, 16) and taps[1][3] == (4, 16)  # stem.0's output, head.5's input
    assert first.calls[0] == ("begin", 7, False, False)  # eval mode, no grad
    assert [c for c, _ in job.snapshots] == [first, second] and not job.failures
    after = {name: len(m._forward_hooks) + len(m._forward_pre_hooks) for name, m in model.named_modules()}
    assert after[""] == 1 and sum(after.values()) == 1  # only the test's own hook is left


def test_a_module_called_twice_is_tapped_at_its_first_call(model):
    spy = Spy("relu", (Tap("stage.0.relu"),))
    _pass(model).run(0, [spy])
    taps = [call for call in spy.calls if call[0] == "tap"]
    assert len(taps) == 3  # one per batch, although the residual block calls its ReLU twice


def test_the_pass_leaves_modes_rng_and_gradients_untouched(model):
    model.train()
    model.stem.eval()
    model(make_images(4)[0]).sum().backward()
    gradients = {name: p.grad.clone() for name, p in model.named_parameters()}
    last_outputs = capture.LastOutputs({"stem.0": model.stem[0]})
    eval_pass = _pass(model)
    eval_pass.last_outputs = last_outputs
    model(make_images(2)[0])
    recorded = last_outputs.latest["stem.0"]
    state = torch.get_rng_state()
    eval_pass.run(0, [Spy("spy", (Tap("head.3"),))])
    assert torch.equal(torch.get_rng_state(), state)
    assert model.training and model.head.training and not model.stem.training and not model.stem[0].training
    assert all(torch.equal(p.grad, gradients[name]) for name, p in model.named_parameters())
    assert last_outputs.latest["stem.0"] is recorded and not last_outputs.paused  # the pass was not recorded
    last_outputs.remove()


def test_collectors_not_due_are_not_called_and_no_batch_runs_without_a_collector_needing_it(model):
    forward_calls = []
    model.register_forward_pre_hook(lambda module, inputs: forward_calls.append(1))
    later = Spy("later", (Tap("stem.0"),), due_every=2)

    class CopiesOnly(Collector[torch.Tensor]):
        needs_eval_pass = False

        def begin(self, context: CheckpointContext) -> None:
            self.copy = host_copy(context.model.stem[0].weight)

        def finish(self) -> torch.Tensor:
            return self.copy

        def write(self, snapshot: torch.Tensor, sink: CheckpointSink) -> None:
            sink.add(scalar_summary("copy", float(snapshot.sum())))

    copies = CopiesOnly()
    job = _pass(model).run(1, [later, copies])
    assert later.calls == [] and forward_calls == []
    assert [c for c, _ in job.snapshots] == [copies]
    torch.testing.assert_close(job.snapshots[0][1], model.stem[0].weight.detach())


@pytest.mark.parametrize("where", ["due", "taps", "begin", "on_tap", "on_batch", "finish"])
def test_a_collector_failing_on_the_training_thread_loses_only_its_own_records(model, where):
    failing, healthy = Spy("failing", (Tap("stem.0"),), fail_in=where), Spy("healthy", (Tap("stem.0"),))
    job = _pass(model).run(3, [failing, healthy])
    assert [(name, str(error)) for name, error in job.failures] == [("failing", f"failing failed in {where}")]
    assert [c for c, _ in job.snapshots] == [healthy]
    assert len([call for call in healthy.calls if call[0] == "batch"]) == 3
    if where in ("taps", "on_tap", "on_batch"):
        assert len([call for call in failing.calls if call[0] == "batch"]) == 0  # dropped at once
    sink, writer = memory_sink()
    failures = write_checkpoint(job, sink)
    assert [name for name, _ in failures] == ["failing"]
    assert writer.tags(3) == ["spy/healthy/first", "spy/healthy/second", "deepviz/checkpoint"]
    assert writer.marker_tags(3) == ["spy/healthy/first", "spy/healthy/second"]


def test_a_tap_of_a_module_the_model_does_not_have_fails_only_that_collector(model):
    wrong, healthy = Spy("wrong", (Tap("stem.0"), Tap("stem.9"))), Spy("healthy", (Tap("stem.0"),))
    job = _pass(model).run(0, [wrong, healthy])
    assert [(name, str(error)) for name, error in job.failures] == [
        ("wrong", "taps of modules the model does not have: ['stem.9']")
    ]
    assert [c for c, _ in job.snapshots] == [healthy] and set(healthy.hooks_seen) == {1}


def test_a_collector_failing_in_the_worker_keeps_what_it_wrote_and_the_others_still_write(model):
    first, failing, last = Spy("first"), Spy("failing", fail_in="write"), Spy("last")
    job = _pass(model).run(5, [first, failing, last])
    sink, writer = memory_sink()
    failures = write_checkpoint(job, sink)
    assert [(name, str(error)) for name, error in failures] == [("failing", "failing failed in write")]
    written = ["spy/first/first", "spy/first/second", "spy/failing/first", "spy/last/first", "spy/last/second"]
    assert writer.tags(5) == [*written, "deepviz/checkpoint"]
    assert writer.marker_tags(5) == written


def test_a_failing_writer_ends_the_checkpoint_with_a_marker_of_what_was_written(model):
    job = _pass(model).run(2, [Spy("first"), Spy("second"), Spy("third")])
    sink, writer = memory_sink(fail_on="spy/second/second")
    failures = write_checkpoint(job, sink)
    assert [(name, type(error)) for name, error in failures] == [("second", OSError)]
    assert writer.marker_tags(2) == ["spy/first/first", "spy/first/second", "spy/second/first"]
    assert writer.tags(2)[-1] == "deepviz/checkpoint" and "spy/third/first" not in writer.tags(2)


def test_a_failing_model_propagates_and_leaves_no_hook_and_the_modes_restored(model):
    class Broken(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 2, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            raise RuntimeError("out of memory")

    broken = Broken().train()
    with pytest.raises(RuntimeError, match="out of memory"):
        _pass(broken).run(0, [Spy("spy", (Tap("conv"),))])
    assert broken.training and not broken.conv._forward_hooks


def test_batches_follow_this_process_share_of_the_eval_set(model):
    class Half(EvalPass):
        def my_share(self) -> range:
            return range(1, len(self.images), 2)  # as a rank of two would

    spy = Spy("spy")
    images, labels = make_images(10)
    Half(model, images, labels, 3).run(0, [spy])
    batches = [call for call in spy.calls if call[0] == "batch"]
    assert [call[1] for call in batches] == [range(1, 7, 2), range(7, 10, 2)]
    assert [call[3] for call in batches] == [labels[1:7:2].tolist(), labels[7:10:2].tolist()]
