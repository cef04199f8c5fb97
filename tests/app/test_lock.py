"""The lock files: every dependency pyproject.toml names is pinned, within its bounds, with hashes."""

from __future__ import annotations

import re
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support import REPO

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", re.MULTILINE)


def declared(extra: str | None = None) -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = project["optional-dependencies"][extra] if extra else project["dependencies"]
    return [Requirement(line) for line in names]


def pins(filename: str) -> dict[str, str]:
    text = (REPO / filename).read_text(encoding="utf-8")
    return {canonicalize_name(name): version for name, version in PIN.findall(text)}


@pytest.mark.parametrize(
    "filename, groups",
    [("requirements.lock", [None, "dev"]), ("requirements.txt", [None])],
)
def test_the_lock_pins_every_declared_dependency_within_its_bounds(filename, groups):
    pinned = pins(filename)
    assert len(pinned) >= 20
    for group in groups:
        for requirement in declared(group):
            name = canonicalize_name(requirement.name)
            assert name in pinned, f"{requirement.name} is in pyproject.toml but not in {filename}: make lock"
            assert requirement.specifier.contains(pinned[name], prereleases=True), (
                f"{filename} pins {name}=={pinned[name]}, outside pyproject.toml's {requirement.specifier}"
            )
        for extra in {e for r in declared(group) for e in r.extras}:
            if extra == "binary":  # psycopg[binary]: its compiled half is a package of its own
                assert "psycopg-binary" in pinned


def test_runtime_and_dev_locks_agree_and_every_pin_has_hashes():
    runtime, everything = pins("requirements.txt"), pins("requirements.lock")
    assert {name: everything.get(name) for name in runtime} == runtime
    for filename in ("requirements.txt", "requirements.lock"):
        text = (REPO / filename).read_text(encoding="utf-8")
        for entry in re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 6)[-1]):
            if "==" in entry:
                assert "--hash=sha256:" in entry, f"{filename}: {entry.splitlines()[0]} has no hash"
        assert "--index-url" not in text and "--find-links" not in text and "file://" not in text


def test_every_install_uses_the_lock():
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^\$\(STAMP\): pyproject.toml \$\(LOCK\)$", makefile, re.MULTILINE), (
        "reinstall on a new lock"
    )
    assert "--require-hashes -r $(LOCK)" in makefile and "--upgrade pip setuptools" in makefile
    assert re.search(r"^lock:", makefile, re.MULTILINE)
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    assert "--require-hashes -r requirements.txt" in dockerfile and "--no-deps" in dockerfile
    assert "--upgrade pip setuptools" in dockerfile
