"""Every runnable example of the README and docs/*.md runs, and prints what the doc shows (see runner.py for how
to mark one). One test per block, named by the document and the line of its opening fence; a block runs after the
blocks before it in its document, as a reader would follow them."""

from __future__ import annotations

import pytest

from tests.docs.runner import Block, DocExampleFailed, DocSession, all_blocks

BLOCKS = all_blocks()


@pytest.fixture(scope="session")
def doc_sessions(tmp_path_factory):
    sessions: dict[str, DocSession] = {}

    def session(doc: str) -> DocSession:
        if doc not in sessions:
            sessions[doc] = DocSession(doc, [b for b in BLOCKS if b.doc == doc],
                                       tmp_path_factory.mktemp(doc.replace("/", "-")))
        return sessions[doc]

    return session


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_the_example_runs_and_prints_what_the_doc_shows(block: Block, doc_sessions):
    try:
        doc_sessions(block.doc).run_through(block)
    except DocExampleFailed as exc:
        pytest.fail(str(exc), pytrace=False)


def test_the_readme_and_the_pull_request_guide_have_runnable_examples():
    docs = {b.doc for b in BLOCKS}
    assert {"README.md", "docs/pull-requests.md"} <= docs, docs
