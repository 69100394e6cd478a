"""``spring.config.import`` in served files: where imported files go (Boot's ConfigData rules), pure."""

from __future__ import annotations

import pytest

from config_server.errors import InvalidConfiguration
from config_server.formats import parse_document_file
from config_server.formats.documents import Document
from config_server.resolve import (
    MAX_IMPORT_DEPTH,
    MAX_IMPORT_LOCATIONS,
    assemble,
    candidates,
    config_names,
    plan,
)

URI = "u"


def parsed(files: dict[str, str]) -> dict[str, list[Document]]:
    return {path: parse_document_file(path, text.encode()) for path, text in files.items()}


def order(files: dict[str, str], app: str = "foo", profiles: tuple[str, ...] = ("default",)) -> list[str]:
    """The property-source names of /{app}/{profiles} over ``files`` (all in the root location)."""
    names = config_names([app])
    docs = parsed(files)
    ordered = [c for c in candidates(names, list(profiles), [""]) if c.path in docs]
    sources = assemble(ordered, docs, profiles=list(profiles), uri=URI, names=names, present=docs.keys())
    return [s.name.removeprefix(URI + "/") for s in sources]


def test_imported_files_sit_above_the_importing_file_last_import_highest() -> None:
    """NativeEnvironmentRepositoryTests#testImport: foo.yml (imported), bar.yml doc #0, import.yml."""
    files = {
        "test/import.yml": "foo: importing\n\nspring.config.import:\n  - bar.yml\n  - import/foo.yml\n",
        "test/bar.yml": "client:\n  test: Default\n---\n"
        "spring.config.activate.on-profile: development\nclient:\n  test: Development\n",
        "test/import/foo.yml": "foo: imported\n",
    }
    names = config_names(["import"])
    docs = parsed(files)
    ordered = [c for c in candidates(names, ["default"], ["", "test/"]) if c.path in docs]
    sources = assemble(ordered, docs, profiles=["default"], uri=URI, names=names, present=docs.keys())
    assert [s.name for s in sources] == [
        "u/test/import/foo.yml",
        "u/test/bar.yml (document #0)",
        "u/test/import.yml",
    ]
    assert sources[0].source["foo"].value == "imported"
    assert sources[2].source["foo"].value == "importing"


def test_imports_of_a_document_sit_right_above_that_document() -> None:
    """Each document imports for itself (Boot: one contributor per document)."""
    files = {
        "foo.yml": "a: 0\nspring.config.import: x.yml\n---\nb: 1\n",
        "x.yml": "a: x\n",
    }
    assert order(files) == ["foo.yml (document #1)", "x.yml", "foo.yml (document #0)"]


def test_comma_string_and_semicolon_entries_keep_the_written_order() -> None:
    """'a.yml,b.yml' binds as two locations, 'c.yml;d.yml' splits one location: later wins."""
    files = {
        "foo.yml": "spring.config.import: 'a.yml, b.yml, c.yml;d.yml'\n",
        **{f"{n}.yml": f"n: {n}\n" for n in "abcd"},
    }
    assert order(files) == ["d.yml", "c.yml", "b.yml", "a.yml", "foo.yml"]


def test_profile_variants_of_imports_come_above_the_plain_imports() -> None:
    """Boot resolves foo-{profile}.yml for each import after profile activation: last profile first."""
    files = {
        "foo.yml": "spring.config.import: [a.yml, b.yml]\n",
        **{f"{n}.yml": "k: v\n" for n in ("a", "b", "a-dev", "a-eu", "b-dev", "b-eu")},
    }
    assert order(files, profiles=("dev", "eu")) == [
        "b-eu.yml",
        "b-dev.yml",
        "a-eu.yml",
        "a-dev.yml",
        "b.yml",
        "a.yml",
        "foo.yml",
    ]


def test_a_profile_specific_file_imports_each_location_with_its_variants() -> None:
    """Imports first seen after profile activation load each location, then its variants."""
    files = {
        "foo-dev.yml": "spring.config.import: [a.yml, b.yml]\n",
        **{f"{n}.yml": "k: v\n" for n in ("a", "b", "a-dev", "b-dev")},
    }
    assert order(files, profiles=("dev",)) == ["b-dev.yml", "b.yml", "a-dev.yml", "a.yml", "foo-dev.yml"]


def test_a_directory_import_loads_the_config_names_there() -> None:
    """'conf/' finds conf/application.* and conf/{app}.*, the app's above application's."""
    files = {
        "foo.yml": "spring.config.import: conf/\n",
        "conf/application.yml": "a: 1\n",
        "conf/foo.properties": "a=2\n",
        "conf/other.yml": "a: 3\n",
    }
    assert order(files) == ["conf/foo.properties", "conf/application.yml", "foo.yml"]


def test_imports_nest_relative_to_each_importing_file() -> None:
    """An imported file's own imports are relative to it; a cycle loads each file once."""
    files = {
        "foo.yml": "spring.config.import: lib/a.yml\n",
        "lib/a.yml": "spring.config.import: [b.yml, ../foo.yml]\n",
        "lib/b.yml": "spring.config.import: a.yml\n",
    }
    assert order(files) == ["lib/b.yml", "lib/a.yml", "foo.yml"]


def test_a_main_file_imported_again_stays_in_its_own_slot() -> None:
    """A file the names already load is not loaded twice (Boot skips loaded resources)."""
    files = {"foo.yml": "spring.config.import: application.yml\n", "application.yml": "a: 1\n"}
    assert order(files) == ["foo.yml", "application.yml"]


def test_missing_imports_are_skipped_optional_or_not() -> None:
    """Spring's server sets spring.config.on-not-found=IGNORE: nothing fails; plan names the
    non-optional one for validate."""
    files = {"foo.yml": "spring.config.import:\n  - optional:gone.yml\n  - missing.yml\n"}
    assert order(files) == ["foo.yml"]
    docs = parsed(files)
    names = config_names(["foo"])
    ordered = [c for c in candidates(names, ["default"], [""]) if c.path in docs]
    missing = plan(ordered, docs, profiles=["default"], names=names).missing
    assert [(m.importer, m.line, m.location, m.path) for m in missing] == [
        ("foo.yml", 3, "missing.yml", "missing.yml")
    ]


def test_an_import_not_yet_parsed_is_needed() -> None:
    """plan names imported files that exist but were not supplied, for the caller to parse."""
    docs = parsed({"foo.yml": "spring.config.import: x.yml\n"})
    names = config_names(["foo"])
    ordered = [c for c in candidates(names, ["default"], [""]) if c.path in docs]
    got = plan(ordered, docs, profiles=["default"], names=names, present={"foo.yml", "x.yml"})
    assert got.needed == {"x.yml"}


def test_the_import_keys_stay_in_the_served_values() -> None:
    """Boot keeps spring.config.import in its property source; so do we."""
    docs = parsed({"foo.yml": "spring.config.import: optional:x.yml\n"})
    names = config_names(["foo"])
    ordered = [c for c in candidates(names, ["default"], [""]) if c.path in docs]
    (source,) = assemble(ordered, docs, profiles=["default"], uri=URI, names=names)
    assert source.source["spring.config.import"].value == "optional:x.yml"


@pytest.mark.parametrize(
    "location",
    [
        "../secret.yml",
        "sub/../../secret.yml",
        "/etc/secret.yml",
        "file:/etc/secret.yml",
        "file:secret.yml",
        "classpath:application.yml",
        "optional:classpath:/config/",
        "https://user:hunter2@example.com/x.yml",
        "configserver:http://localhost:8888",
        "optional:../x.yml",
    ],
)
def test_a_location_outside_the_repository_is_refused_at_its_line(location: str) -> None:
    """Spring resolves these against the server's own disk or class path; we refuse them."""
    files = {"foo.yml": f"a: 1\nspring.config.import:\n  - ok.yml\n  - '{location}'\n"}
    with pytest.raises(InvalidConfiguration) as caught:
        order(files)
    assert (caught.value.path, caught.value.line) == ("foo.yml", 4)
    assert "outside the repository" in caught.value.problem
    assert "hunter2" not in str(caught.value)


def test_a_file_location_without_a_config_extension_is_an_error_unless_optional() -> None:
    """StandardConfigDataLocationResolver: 'File extension is not known'; optional ones skip."""
    assert order({"foo.yml": "spring.config.import: optional:notes.txt\n"}) == ["foo.yml"]
    with pytest.raises(InvalidConfiguration) as caught:
        order({"foo.yml": "spring.config.import: conf\n"})
    assert caught.value.line == 1 and "directory must end in '/'" in caught.value.problem


def test_a_deep_import_chain_is_refused_not_a_crash() -> None:
    """1,000 files each importing the next: an error naming the file too deep, not a RecursionError
    (a 500) nor seconds of planning on the event loop."""
    files = {"foo.yml": "spring.config.import: c0.yml\n"}
    files |= {f"c{i}.yml": f"spring.config.import: c{i + 1}.yml\nk{i}: v\n" for i in range(1000)}
    with pytest.raises(InvalidConfiguration) as caught:
        order(files)
    assert caught.value.path == f"c{MAX_IMPORT_DEPTH}.yml"
    assert "nests more than" in caught.value.problem


def test_an_import_chain_at_the_depth_limit_is_served() -> None:
    """MAX_IMPORT_DEPTH files below the importing one are still loaded, deepest highest."""
    files = {"foo.yml": "spring.config.import: c0.yml\n"}
    files |= {f"c{i}.yml": f"spring.config.import: c{i + 1}.yml\n" for i in range(MAX_IMPORT_DEPTH - 1)}
    files[f"c{MAX_IMPORT_DEPTH - 1}.yml"] = "last: v\n"
    assert order(files)[0] == f"c{MAX_IMPORT_DEPTH - 1}.yml"


def test_a_huge_import_list_is_refused() -> None:
    """10,000 directory imports in one document: refused at once, naming the file."""
    imports = ",".join(f"optional:d{i}/" for i in range(10_000))
    with pytest.raises(InvalidConfiguration) as caught:
        order({"foo.yml": f"spring.config.import: {imports}\n"})
    assert caught.value.path == "foo.yml"
    assert f"more than {MAX_IMPORT_LOCATIONS} locations" in caught.value.problem


def test_import_loops_load_each_file_once() -> None:
    """a imports b imports a (and foo itself): each file is placed once, no endless loop."""
    files = {
        "foo.yml": "spring.config.import: a.yml\n",
        "a.yml": "spring.config.import: b.yml,foo.yml\n",
        "b.yml": "spring.config.import: a.yml\n",
    }
    assert order(files) == ["b.yml", "a.yml", "foo.yml"]
