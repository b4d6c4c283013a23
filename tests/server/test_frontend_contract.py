"""The dashboard's copy of the contract is generated from Python and up to date."""

from __future__ import annotations

from tensorboard_deepviz.server import frontend_contract


def test_the_generated_typescript_contract_is_up_to_date():
    assert frontend_contract.OUTPUT.read_text(encoding="utf-8") == frontend_contract.typescript_source(), (
        "frontend/src/generated/contract.ts is stale: run python -m tensorboard_deepviz.server.frontend_contract"
    )


def test_the_generated_contract_names_what_the_server_accepts():
    text = frontend_contract.typescript_source()
    assert 'export const FILTER_NORMS = ["filter", "layer", "global"] as const;' in text
    assert '"nan": [0, 255, 0]' in text
