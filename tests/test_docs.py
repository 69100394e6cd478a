"""The READMEs' commands work as written: every fenced block runs, in order, against a real server."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.support.containment import REPO
from tests.support.docblocks import Block, DocumentError, check, extract, run_document

DOCUMENTS = ["README.md", "client/README.md"]


@pytest.mark.slow
@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_block_of_the_document_runs(document: str, tmp_path: Path) -> None:
    """Each sh/bash/python block exits 0 in document order; the others are skipped with a reason."""
    blocks = extract((REPO / document).read_text())
    outcome = run_document(REPO / document, repo=REPO, tmp=tmp_path, name=document)
    assert sorted(outcome.ran + list(outcome.skipped)) == [b.line for b in blocks]
    assert outcome.ran, "a document whose blocks are all skipped proves nothing"


def write(tmp_path: Path, markdown: str) -> Path:
    path = tmp_path / "doc.md"
    path.write_text(textwrap.dedent(markdown))
    return path


def test_blocks_are_found_with_their_line_and_directive() -> None:
    """A fence's line number, language, text, and the comment on the line before it."""
    blocks = extract(
        "# T\n\n<!-- doctest: skip (needs a cluster) -->\n```yaml\na: 1\n```\n\n```sh\necho hi\n```\n"
    )
    assert blocks == [
        Block(line=4, language="yaml", text="a: 1\n", directive="skip", argument="needs a cluster"),
        Block(line=8, language="sh", text="echo hi\n"),
    ]


def test_a_block_that_cannot_run_needs_an_explicit_skip() -> None:
    """A yaml block without <!-- doctest: skip (why) --> is an error naming its line."""
    with pytest.raises(DocumentError, match=r"doc.md:2: a 'yaml' block cannot run"):
        check(extract("x\n```yaml\na: 1\n```\n"), "doc.md")


def test_a_skip_needs_a_reason() -> None:
    """``<!-- doctest: skip -->`` alone is refused: every skip says why."""
    with pytest.raises(DocumentError, match=r"doc.md:2: a skipped block needs a reason"):
        check(extract("<!-- doctest: skip -->\n```sh\nrm -rf /\n```\n"), "doc.md")


def test_a_failing_block_fails_with_its_line_number(tmp_path: Path) -> None:
    """The first block that exits non-zero stops the run, naming the document, the line and the output."""
    doc = write(
        tmp_path, "```sh\necho one\n```\n\ntext\n\n```sh\necho two; false\n```\n\n```sh\necho three\n```\n"
    )
    with pytest.raises(DocumentError, match=r"(?s)doc.md:7: the ```sh block exited 1.*two"):
        run_document(doc, repo=REPO, tmp=tmp_path / "run")


def test_a_failing_python_block_fails_with_its_line_number(tmp_path: Path) -> None:
    """A Python block that raises (the README's old NameError) is caught like a shell failure."""
    doc = write(
        tmp_path, "<!-- doctest: skip (illustration) -->\n```yaml\nx\n```\n```python\nlog.info('x')\n```\n"
    )
    with pytest.raises(DocumentError, match=r"(?s)doc.md:5: the ```python block exited 1.*NameError"):
        run_document(doc, repo=REPO, tmp=tmp_path / "run")


def test_an_http_error_fails_a_curl_block(tmp_path: Path) -> None:
    """curl runs with --fail, so a 404 from a documented URL fails its block."""
    doc = write(
        tmp_path,
        """\
        <!-- doctest: background (ready: http://127.0.0.1:8888/) -->
        ```sh
        .venv/bin/python -m http.server 8888 --bind 127.0.0.1
        ```
        ```sh
        curl http://127.0.0.1:8888/no-such-page
        ```
        """,
    )
    with pytest.raises(DocumentError, match=r"doc.md:5: the ```sh block exited 22"):
        run_document(doc, repo=REPO, tmp=tmp_path / "run")


def test_blocks_share_files_in_order_and_skips_are_counted(tmp_path: Path) -> None:
    """Later blocks see what earlier ones wrote; skipped blocks are reported with their reasons."""
    doc = write(
        tmp_path,
        """\
        ```sh
        echo 42 > /tmp/answer
        ```
        <!-- doctest: skip (needs Kubernetes) -->
        ```yaml
        kind: Pod
        ```
        ```python
        assert open("/tmp/answer").read() == "42\\n"
        ```
        """,
    )
    outcome = run_document(doc, repo=REPO, tmp=tmp_path / "run")
    assert (outcome.ran, outcome.skipped) == ([1, 8], {5: "needs Kubernetes"})
