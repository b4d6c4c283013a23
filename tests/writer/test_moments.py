"""Layer moments: computed on the tensors' device, combined and finished on the host."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tensorboard_deepviz.analysis import moments as host_moments
from tensorboard_deepviz.contract import metadata
from tensorboard_deepviz.writer import moments as device_moments


def _finished(tensor):
    return host_moments.statistics_from_moments(device_moments.tensor_moments(tensor).numpy())


def test_statistics_match_numpy():
    values = torch.tensor([[0.0, 1.5, -2.0], [3.0, 0.0, 4.25]])
    row = dict(zip(metadata.STATISTIC_NAMES, _finished(values)))
    flat = values.double().numpy().ravel()
    assert row["count"] == 6
    assert row["mean"] == pytest.approx(flat.mean())
    assert row["std"] == pytest.approx(flat.std())
    assert (row["min"], row["max"]) == (-2.0, 4.25)
    assert row["norm"] == pytest.approx(np.linalg.norm(flat))
    assert row["zero_fraction"] == pytest.approx(2 / 6)
    assert (row["nan_count"], row["inf_count"]) == (0, 0)


def test_nan_and_inf_are_counted_and_missing_tensors_give_empty_rows():
    values = torch.tensor([1.0, float("nan"), float("inf"), float("-inf"), float("nan")], dtype=torch.float16)
    row = dict(zip(metadata.STATISTIC_NAMES, _finished(values)))
    assert (row["nan_count"], row["inf_count"], row["count"]) == (2, 2, 5)
    assert not np.any(_finished(None)[: len(metadata.STATISTIC_NAMES_V1)])


@pytest.mark.parametrize(
    "values",
    [
        torch.tensor([[0.0, 1.5, -2.0], [3.0, 0.0, 4.25]]),
        torch.tensor([1.0, float("nan"), float("inf"), float("-inf"), 0.0, float("nan")]),
        torch.randn(4, 3, 5, 5).relu(),
        torch.randn(6, 8).t(),  # not contiguous
        torch.tensor([0.5, -0.0, 2.0], dtype=torch.float64),
    ],
)
def test_accelerator_formulation_gives_the_rows_of_the_host_one(values, monkeypatch):
    # The numpy shortcut only runs on host tensors; elsewhere every moment is computed by torch
    # on the device. Disabling the shortcut runs that formulation here, on CPU tensors.
    host_row = device_moments.tensor_moments(values)
    monkeypatch.setattr(device_moments, "_host_array", lambda values: None)
    device_row = device_moments.tensor_moments(values)
    assert device_row.dtype == torch.float64 and device_row.shape == host_row.shape
    torch.testing.assert_close(device_row, host_row, rtol=1e-6, atol=1e-6, equal_nan=True)


def test_zero_fraction_counts_negative_zero_and_not_nan():
    values = torch.tensor([0.0, -0.0, float("nan"), 1.0])
    row = dict(zip(metadata.STATISTIC_NAMES, _finished(values)))
    assert row["zero_fraction"] == pytest.approx(2 / 4)
    assert row["nan_count"] == 1


def test_combined_moments_equal_moments_of_the_concatenation():
    a, b = torch.randn(7, 3), torch.randn(5)
    combined = host_moments.combine_moments(device_moments.moments_of([a, None, b]).numpy())
    direct = device_moments.tensor_moments(torch.cat([a.reshape(-1), b])).numpy()
    np.testing.assert_allclose(combined, direct, rtol=1e-6, atol=1e-6)  # float32 sums
    assert not np.any(host_moments.combine_moments(np.zeros((0, len(host_moments.MOMENT_NAMES)))))


def test_combined_extremes_are_nan_when_a_part_holds_nan():
    rows = device_moments.moments_of([torch.tensor([1.0, float("nan")]), torch.tensor([-3.0, 4.0])]).numpy()
    combined = dict(zip(host_moments.MOMENT_NAMES, host_moments.combine_moments(rows)))
    assert np.isnan(combined["min"]) and np.isnan(combined["max"]) and combined["nan_count"] == 1


@pytest.mark.parametrize("host", [True, False], ids=["host", "accelerator formulation"])
def test_moments_of_many_tensors_equal_each_tensors_moments(host, monkeypatch):
    tensors = [
        torch.randn(3, 4, 5).relu(),
        None,
        torch.zeros(0),
        torch.tensor([1.0, float("nan"), float("-inf"), 0.0]),
        torch.randn(7, dtype=torch.float64),
        torch.tensor([2.0, float("inf")], dtype=torch.float16),
        torch.arange(6).reshape(2, 3),
    ]
    expected = torch.stack([device_moments.tensor_moments(t) for t in tensors])
    if not host:
        monkeypatch.setattr(device_moments, "_host_array", lambda values: None)
    rows = device_moments.moments_of(tensors)
    assert rows.shape == (len(tensors), len(host_moments.MOMENT_NAMES)) and rows.dtype == torch.float64
    torch.testing.assert_close(rows, expected, rtol=1e-6, atol=1e-6, equal_nan=True)
    assert not rows[1].any() and not rows[2].any()
    assert rows[3].tolist()[5:] == [1, 1, 1]  # zeros, NaN, Inf
    assert device_moments.moments_of([]).shape == (0, len(host_moments.MOMENT_NAMES))


def test_layer_moments_combine_each_layers_parameters_and_gradients():
    weight, bias, other = torch.randn(4, 3), torch.randn(4), torch.randn(5)
    activations = [torch.randn(2, 4), torch.randn(2, 5)]
    rows = device_moments.moments_of(activations + [weight, bias, other] + [bias * 2]).numpy()
    table = host_moments.layer_moments(rows, 2, parameter_owners=[0, 0, 1], gradient_owners=[0])
    assert table.shape == (2, len(metadata.STATISTIC_SOURCES), len(host_moments.MOMENT_NAMES))
    sources = {name: i for i, name in enumerate(metadata.STATISTIC_SOURCES)}
    expected_weights = device_moments.tensor_moments(torch.cat([weight.reshape(-1), bias])).numpy()
    np.testing.assert_allclose(table[0, sources["weights"]], expected_weights, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(
        table[0, sources["gradients"]], device_moments.tensor_moments(bias * 2).numpy(), rtol=1e-6
    )
    np.testing.assert_allclose(
        table[1, sources["activations"]], device_moments.tensor_moments(activations[1]).numpy(), rtol=1e-6
    )
    assert not table[1, sources["gradients"]].any()  # no gradient for layer 1
    with pytest.raises(ValueError, match="moment rows"):
        host_moments.layer_moments(rows, 2, parameter_owners=[0, 0, 1], gradient_owners=[])


# ------------------------------------------------------------------ sampled moments (deep models)


def _statistics(row: torch.Tensor) -> dict[str, float]:
    count, total, squares, minimum, maximum, zeros, nans, infs = row.tolist()
    return {
        "count": count,
        "sum": total,
        "squares": squares,
        "min": minimum,
        "max": maximum,
        "zeros": zeros,
        "nans": nans,
        "infs": infs,
    }


def test_sampled_moments_keep_sums_exact_and_estimate_the_rest_closely():
    generator = torch.Generator().manual_seed(0)
    values = torch.randn(3_000_000, generator=generator) * 2 + 1
    values[torch.rand(3_000_000, generator=generator) < 0.3] = 0  # a layer 30% silent
    exact = _statistics(device_moments.moments_of([values])[0])
    sampled = _statistics(device_moments.moments_of([values], sample_large=True)[0])
    assert sampled["count"] == exact["count"] and sampled["sum"] == exact["sum"]
    assert sampled["squares"] == pytest.approx(exact["squares"], rel=0.01)
    assert sampled["zeros"] == pytest.approx(exact["zeros"], rel=0.01)
    # Extremes of a sample are inside the tensor's and, for 187,000 sampled values, near them.
    assert exact["min"] <= sampled["min"] < exact["min"] + 2.0
    assert exact["max"] - 2.0 < sampled["max"] <= exact["max"]


def test_sampled_moments_leave_small_tensors_and_broken_ones_exact():
    small = torch.randn(10_000)
    assert torch.equal(device_moments.moments_of([small], sample_large=True), device_moments.moments_of([small]))
    broken = torch.randn(2_000_000)
    broken[123_457] = float("nan")  # in a block the sample skips
    broken[1_999_999] = float("inf")
    row = _statistics(device_moments.moments_of([broken], sample_large=True)[0])
    assert (row["nans"], row["infs"]) == (1, 1)
    whole = device_moments.moments_of([broken])
    assert torch.equal(device_moments.moments_of([broken], sample_large=True).nan_to_num(), whole.nan_to_num())
