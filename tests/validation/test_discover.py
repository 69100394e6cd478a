"""Specification of ``validation.discover``: applications and profiles from file names alone."""

from __future__ import annotations

import pytest

from config_server.validation.discover import file_names, layout


@pytest.mark.parametrize(
    ("files", "known", "applications", "shared"),
    [
        (["orders.yml", "orders-dev.yml"], (), {"orders": {"dev"}}, set()),
        (["order-service.yml", "order-service-prod.yml"], (), {"order-service": {"prod"}}, set()),
        (["my-service.yml"], (), {"my-service": set()}, set()),  # no "my" to be a profile of
        (["orders-dev.yml"], ("orders",), {"orders": {"dev"}}, set()),  # known from a schema
        (["application.yml", "application-eu-west.yml"], (), {}, {"eu-west"}),
    ],
)
def test_names_come_from_file_stems(
    files: list[str], known: tuple[str, ...], applications: dict[str, set[str]], shared: set[str]
) -> None:
    """{app}-{profile} needs a known app; application-{profile} is shared by every application."""
    names = file_names(files, known)
    assert (names.applications, names.shared_profiles, names.problems) == (applications, shared, [])


def test_only_files_in_search_locations_are_config_files() -> None:
    """Root files and {application} directories; other folders' config files are only importable."""
    paths = ["a.yml", "README.md", "teams/x/x.yml", "docs/y.yml", "schemas/x.schema.json"]
    dirs = ["", "teams", "teams/x", "docs", "schemas"]
    found = layout(paths, dirs, ["teams/{application}"])
    assert found.config_files == ("a.yml", "teams/x/x.yml")
    assert found.importable == ("docs/y.yml",)
    assert found.wanted == ("a.yml", "teams/x/x.yml", "docs/y.yml", "schemas/x.schema.json")
    assert found.directory_apps == {"x"}
