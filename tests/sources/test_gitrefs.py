"""Specification of the pure git helpers: label rules, credential-free URIs, ref snapshots."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from config_server.errors import InvalidRequest
from config_server.sources.git.refs import (
    RefSnapshot,
    check_label,
    commit_prefix,
    display_uri,
    local_path,
    one_line,
    redact,
)

A, B, C = "a" * 40, "b" * 40, "c" * 40


@pytest.mark.parametrize(
    "label",
    ["main", "feature/puff", "v1.0.0", "release-2024.01", "deadbee", "a@b", "ünïcode", "x" * 255],
)
def test_well_formed_labels_are_accepted(label: str) -> None:
    """Branch, tag and commit-like names that git accepts pass unchanged."""
    assert check_label(label) == label


@pytest.mark.parametrize(
    ("label", "why"),
    [
        ("", "empty"),
        ("--upload-pack=touch /tmp/x", "'-'"),
        ("-x", "'-'"),
        ("../../etc/passwd", "'..'"),
        ("a..b", "'..'"),
        ("main@{1}", "'@{'"),
        ("@", "'@'"),
        ("a b", "' '"),
        ("a~1", "'~'"),
        ("a^", "'^'"),
        ("a:b", "':'"),
        ("a?", "'?'"),
        ("a*", "'*'"),
        ("a[", "'['"),
        ("a\\b", "'\\\\'"),
        ("a\x00b", "control"),
        ("a\nb", "control"),
        ("a\x7fb", "control"),
        ("/abs", "'/'"),
        ("trailing/", "'/'"),
        ("a//b", "'//'"),
        ("dot.", "'.'"),
        (".hidden", "'.'"),
        ("x/.hidden", "'.'"),
        ("branch.lock", ".lock"),
        ("x.lock/y", ".lock"),
        ("x" * 256, "255"),
    ],
)
def test_malformed_labels_are_invalid_requests(label: str, why: str) -> None:
    """Labels breaking git's check-ref-format rules (or option-like) raise InvalidRequest saying why."""
    with pytest.raises(InvalidRequest) as caught:
        check_label(label)
    assert why in caught.value.message


def test_error_message_escapes_and_shortens_the_label() -> None:
    """A hostile label is shown escaped and cut short, never raw."""
    with pytest.raises(InvalidRequest) as caught:
        check_label("\x1b[31m" + "y" * 300)
    assert "\x1b" not in caught.value.message
    assert len(caught.value.message) < 200


@given(st.text(max_size=300))
def test_accepted_labels_can_never_be_options_or_escape_refs(label: str) -> None:
    """Whatever is accepted has no leading '-', no '..', no control characters and no '//'."""
    try:
        check_label(label)
    except InvalidRequest:
        return
    assert not label.startswith("-") and ".." not in label and "//" not in label
    assert all(ord(ch) >= 0x20 and ch != "\x7f" for ch in label)


@pytest.mark.parametrize(
    ("label", "prefix"),
    [
        ("abcdef1", "abcdef1"),
        ("ABCDEF12", "abcdef12"),
        (A, A),
        ("abcdef", None),
        ("main", None),
        (A + "a", None),
    ],
)
def test_commit_prefix_accepts_seven_to_forty_hex_digits(label: str, prefix: str | None) -> None:
    """Only 7..40 hex digits can be a commit id; they are normalised to lower case."""
    assert commit_prefix(label) == prefix


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        ("https://user:s3cret@github.com/org/repo.git", "https://github.com/org/repo.git"),
        ("https://TOKEN@github.com/org/repo/", "https://github.com/org/repo"),
        ("ssh://git@example.com:2222/srv/config.git", "ssh://example.com:2222/srv/config.git"),
        ("git://localhost", "git://localhost/"),
        ("git@github.com:org/repo.git", "git@github.com:org/repo.git"),
        ("file:///srv/config.git/", "file:///srv/config.git"),
        ("file:./target/repos/config-repo", "file:./target/repos/config-repo"),
        ("/srv/config.git/", "/srv/config.git"),
    ],
)
def test_display_uri_drops_credentials_and_trailing_slash(uri: str, shown: str) -> None:
    """The URI used in source names has no user-info and no trailing '/' (a bare host keeps one)."""
    assert display_uri(uri) == shown


@pytest.mark.parametrize(
    ("uri", "path"),
    [
        ("/srv/config.git", Path("/srv/config.git")),
        ("relative/repo", Path("relative/repo")),
        ("file:///srv/my%20config.git", Path("/srv/my config.git")),
        ("file://localhost/srv/c.git", Path("/srv/c.git")),
        ("file:./target/repo", Path("./target/repo")),
        ("file://otherhost/srv/c.git", None),
        ("https://github.com/org/repo", None),
        ("git@github.com:org/repo.git", None),
        ("example.com:repo.git", None),
    ],
)
def test_local_path_recognises_paths_and_file_urls(uri: str, path: Path | None) -> None:
    """Paths and file: URLs are local remotes; URLs and scp-like addresses are not."""
    assert local_path(uri) == path


def test_redact_removes_userinfo_from_every_url_in_a_message() -> None:
    """Credentials inside git's error text are removed wherever they appear."""
    text = "fatal: unable to access 'https://bob:hunter2@host/r/': and http://tok@h2/x"
    assert redact(text) == "fatal: unable to access 'https://host/r/': and http://h2/x"


def test_one_line_picks_the_fatal_line_of_git_output() -> None:
    """A multi-line git error becomes its one telling line, credentials removed."""
    text = "remote: Counting objects\nhint: something\nfatal: could not read from 'https://u:p@h/r'\n"
    assert one_line(text) == "fatal: could not read from 'https://h/r'"


def _refs(*lines: tuple[str, str, str, str, str]) -> RefSnapshot:
    return RefSnapshot.parse("\n".join("\t".join(line) for line in lines))


def test_snapshot_peels_annotated_tags_and_skips_non_commits() -> None:
    """Branches map to commits, annotated tags to the commit they tag; tags of trees are dropped."""
    refs = _refs(
        (A, "commit", "", "", "refs/remotes/origin/main"),
        (A, "commit", "", "", "refs/remotes/origin/HEAD"),
        (B, "tag", C, "commit", "refs/tags/v1"),
        (B, "tag", C, "tree", "refs/tags/weird"),
    )
    assert refs.branches == {"main": A}
    assert refs.tags == {"v1": C}


def test_branch_wins_over_tag_of_the_same_name() -> None:
    """Label lookup tries the branch before the tag."""
    refs = _refs((A, "commit", "", "", "refs/remotes/origin/x"), (B, "commit", "", "", "refs/tags/x"))
    assert refs.lookup("x") == A
    assert refs.lookup("y") is None


def test_moved_reports_changed_new_and_deleted_refs_by_remote_name() -> None:
    """moved() names refs as the remote does and gives (old, new), None for absent."""
    before = RefSnapshot(branches={"main": A, "gone": B}, tags={"v1": A})
    after = RefSnapshot(branches={"main": B, "new": C}, tags={"v1": A})
    assert before.moved(after) == {
        "refs/heads/gone": (B, None),
        "refs/heads/main": (A, B),
        "refs/heads/new": (None, C),
    }
