"""The colours of every sprite: the weight and activation colour maps and the marks for NaN, Inf and padding.

``DIVERGING`` (Moreland's smooth cool-warm) shows signed weights with 0 at its centre;
``SEQUENTIAL`` (viridis) shows activations, dark = low. NaN, +Inf and -Inf get colours that
occur in neither table (``NAN_COLOR``, ``POS_INF_COLOR``, ``NEG_INF_COLOR``); ``BACKGROUND`` fills
gaps and unused grid slots. The dashboard's legends read the same values through
``server.frontend_contract``.
"""

from __future__ import annotations

import math

import numpy as np

NAN_COLOR = (0, 255, 0)
POS_INF_COLOR = (255, 0, 255)
NEG_INF_COLOR = (0, 255, 255)
BACKGROUND = (64, 64, 64)

_SRGB_TO_XYZ = np.array(
    [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]]
)
_D65_WHITE = np.array([0.95047, 1.0, 1.08883])


def _srgb_to_msh(rgb: np.ndarray) -> np.ndarray:
    """sRGB in [0, 1] -> CIELAB -> Moreland's polar Msh (magnitude, saturation, hue)."""
    linear = np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    t = (linear @ _SRGB_TO_XYZ.T) / _D65_WHITE
    f = np.where(t > (6 / 29) ** 3, np.cbrt(t), t / (3 * (6 / 29) ** 2) + 4 / 29)
    lab = np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)
    m = np.linalg.norm(lab, axis=-1)
    return np.stack([m, np.arccos(lab[..., 0] / m), np.arctan2(lab[..., 2], lab[..., 1])], axis=-1)


def _msh_to_srgb(msh: np.ndarray) -> np.ndarray:
    m, s, h = msh[..., 0], msh[..., 1], msh[..., 2]
    lab_l, lab_a, lab_b = m * np.cos(s), m * np.sin(s) * np.cos(h), m * np.sin(s) * np.sin(h)
    fy = (lab_l + 16) / 116
    f = np.stack([fy + lab_a / 500, fy, fy - lab_b / 200], axis=-1)
    t = np.where(f > 6 / 29, f**3, 3 * (6 / 29) ** 2 * (f - 4 / 29)) * _D65_WHITE
    linear = np.clip(t @ np.linalg.inv(_SRGB_TO_XYZ).T, 0.0, 1.0)
    return np.where(linear > 0.0031308, 1.055 * linear ** (1 / 2.4) - 0.055, 12.92 * linear)


def _adjust_hue(msh: np.ndarray, unsaturated_m: float) -> float:
    """Moreland's hue spin for the saturated end when interpolating towards an unsaturated colour."""
    m, s, h = msh
    if m >= unsaturated_m - 0.1:
        return float(h)
    spin = s * math.sqrt(unsaturated_m**2 - m**2) / (m * math.sin(s))
    return float(h + spin if h > -math.pi / 3 else h - spin)


def _cool_warm(levels: int = 256) -> np.ndarray:
    """Moreland's smooth cool-warm diverging map ("Diverging Color Maps for Scientific
    Visualization", 2009): blue (59, 76, 192) -> near-white -> red (180, 4, 38), interpolated in
    Msh through an unsaturated white so that lightness varies smoothly and symmetrically."""
    cool = _srgb_to_msh(np.array([59, 76, 192]) / 255.0)
    warm = _srgb_to_msh(np.array([180, 4, 38]) / 255.0)
    mid_m = max(cool[0], warm[0], 88.0)
    white_cool = np.array([mid_m, 0.0, _adjust_hue(cool, mid_m)])
    white_warm = np.array([mid_m, 0.0, _adjust_hue(warm, mid_m)])
    t = np.linspace(0.0, 1.0, levels)[:, None]
    lower = t < 0.5
    u = np.where(lower, 2 * t, 2 * t - 1)
    start = np.where(lower, cool, white_warm)
    end = np.where(lower, white_cool, warm)
    rgb = _msh_to_srgb((1 - u) * start + u * end)
    return np.clip(np.rint(rgb * 255), 0, 255).astype(np.uint8)


# viridis (Smith, van der Walt and Firing; CC0), the 256 entries of matplotlib's table as RGB hex.
_VIRIDIS_HEX = (
    "44015444025645045745055946075a46085c460a5d460b5e470d60470e61471063471164471365481467481668481769"
    "48186a481a6c481b6d481c6e481d6f481f70482071482173482374482475482576482677482878482979472a7a472c7a"
    "472d7b472e7c472f7d46307e46327e46337f463480453581453781453882443983443a83443b84433d84433e85423f85"
    "4240864241864142874144874045884046883f47883f48893e49893e4a893e4c8a3d4d8a3d4e8a3c4f8a3c508b3b518b"
    "3b528b3a538b3a548c39558c39568c38588c38598c375a8c375b8d365c8d365d8d355e8d355f8d34608d34618d33628d"
    "33638d32648e32658e31668e31678e31688e30698e306a8e2f6b8e2f6c8e2e6d8e2e6e8e2e6f8e2d708e2d718e2c718e"
    "2c728e2c738e2b748e2b758e2a768e2a778e2a788e29798e297a8e297b8e287c8e287d8e277e8e277f8e27808e26818e"
    "26828e26828e25838e25848e25858e24868e24878e23888e23898e238a8d228b8d228c8d228d8d218e8d218f8d21908d"
    "21918c20928c20928c20938c1f948c1f958b1f968b1f978b1f988b1f998a1f9a8a1e9b8a1e9c891e9d891f9e891f9f88"
    "1fa0881fa1881fa1871fa28720a38620a48621a58521a68522a78522a88423a98324aa8325ab8225ac8226ad8127ad81"
    "28ae8029af7f2ab07f2cb17e2db27d2eb37c2fb47c31b57b32b67a34b67935b77937b87838b9773aba763bbb753dbc74"
    "3fbc7340bd7242be7144bf7046c06f48c16e4ac16d4cc26c4ec36b50c46a52c56954c56856c66758c7655ac8645cc863"
    "5ec96260ca6063cb5f65cb5e67cc5c69cd5b6ccd5a6ece5870cf5773d05675d05477d1537ad1517cd2507fd34e81d34d"
    "84d44b86d54989d5488bd6468ed64590d74393d74195d84098d83e9bd93c9dd93ba0da39a2da37a5db36a8db34aadc32"
    "addc30b0dd2fb2dd2db5de2bb8de29bade28bddf26c0df25c2df23c5e021c8e020cae11fcde11dd0e11cd2e21bd5e21a"
    "d8e219dae319dde318dfe318e2e418e5e419e7e419eae51aece51befe51cf1e51df4e61ef6e620f8e621fbe723fde725"
)

DIVERGING: np.ndarray = _cool_warm()
"""uint8 ``[256, 3]``: index 0 = most negative (blue), ~127.5 = zero (near-white), 255 = most positive (red)."""
SEQUENTIAL: np.ndarray = np.frombuffer(bytes.fromhex(_VIRIDIS_HEX), dtype=np.uint8).reshape(256, 3).copy()
"""uint8 ``[256, 3]`` viridis: 0 = lowest (dark violet), 255 = highest (yellow)."""
DIVERGING.setflags(write=False)
