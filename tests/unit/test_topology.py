"""Topology files: the README's example loads; inconsistent tables are refused at start."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from oxstore.topology import Topology

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_example_loads(tmp_path: Path) -> None:
    example = re.search(r"```toml\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert example is not None
    path = tmp_path / "topology.toml"
    path.write_text(example[1])
    topology = Topology.load(path)
    assert topology.default_region == "eu"
    assert topology.default_policy("ch").id == "6d37797515208e3926609d8a7f590220"
    assert topology.signing_regions == ("eu", "ch", "us-east-1")
    assert topology.endpoints == ("s3-eu.example.com",)


POLICY = '[[policies]]\nid = "p1"\nregion = "eu"\nplacement = "1+1+1"\ndefault = true\n'


@pytest.mark.parametrize(
    "text",
    [
        'default_region = "eu"\n[[regions]]\nname = "us"\n',  # default not among regions
        'default_region = "eu"\n[[regions]]\nname = "eu"\n',  # no default policy
        'default_region = "eu"\n[[regions]]\nname = "eu"\n' + POLICY + POLICY,  # duplicate id
        'default_region = "eu"\n[[regions]]\nname = "eu"\n'
        + POLICY.replace('"1+1+1"', '"three"'),  # placement
        'default_region = "eu"\n[[regions]]\nname = "eu"\n'
        + POLICY.replace('region = "eu"', 'region = "mars"'),  # unknown region
        'default_region = "eu"\nstorage_classes = ["COLD"]\n[[regions]]\nname = "eu"\n' + POLICY,
        'default_region = "eu"\nunknown = 1\n[[regions]]\nname = "eu"\n' + POLICY,
    ],
)
def test_inconsistent_topologies_are_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ValueError):
        Topology.load(path)
