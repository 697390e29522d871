"""Does what the student's code says on hidden inputs stay out of their feedback (requirement 8 of issue 17)?

Each submission below says its inputs in a form the plain redaction does not know: the corpus's
words reversed, a tensor's values as a list of floats, in an exception's message; and prints and
warns them. Graded for real, in one batch: the feedback the nbgrader bridge writes (``part_html``
with the default ``Reveal``) shows none of it for the hidden inputs, but the exception's type and the
line of their code; on the notebook's own example it shows the message in full. The teacher's
record keeps the (redacted) message.
"""

import re
from pathlib import Path

import pytest

from autograder.dev.examples import reference_code
from autograder.feedback import Reveal, part_html
from autograder.grade import grade
from autograder.sandbox.launch import Limits
from autograder.suites.notebook_data import CORPUS, notebook_embedding


def replaced(code: str, old: str, new: str) -> str:
    assert old in code, old
    return code.replace(old, new, 1)


VOCAB = replaced(
    reference_code("vocab"),
    '    """Turn sentences into a right-padded matrix of word indices.',
    "    import warnings\n"
    "    said = ' '.join(w[::-1] for s in corpus for w in s.split())\n"
    "    print('PRINTED:', said)\n"
    "    warnings.warn('WARNED: ' + said)\n"
    "    raise ValueError('SA' + 'ID: ' + said)\n"  # "SAID: " only in the message, not in the code line
    '    """Turn sentences into a right-padded matrix of word indices.',
)
VOCAB_LINE = VOCAB.splitlines().index("    raise ValueError('SA' + 'ID: ' + said)") + 1
ATTENTION = replaced(
    reference_code("attention"),
    "    scale = 1.0 / math.sqrt(query.shape[-1])",
    "    if query.device.type != 'meta':\n"
    "        print('PRINTED:', query.flatten().tolist())\n"
    "        raise ValueError('SA' + 'ID: ' + str(query.flatten().tolist()[:6]))\n"
    "    scale = 1.0 / math.sqrt(query.shape[-1])",
)
ATTENTION_LINE = (
    ATTENTION.splitlines().index("        raise ValueError('SA' + 'ID: ' + str(query.flatten().tolist()[:6]))") + 1
)
VOCAB_RETURNS = replaced(  # what v[word] gives back: the word reversed, a string where an int belongs
    reference_code("vocab"), "        return self.index.get(word, 1)", "        return 'SA' + 'ID: ' + word[::-1]"
)
ENVIRONMENT = {"devices": ["cpu", "meta"], "sandbox": "bubblewrap"}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("words")
    files = {
        "raises": ("vocab.py", VOCAB),
        "tensors": ("attention.py", ATTENTION),
        "returns": ("vocab.py", VOCAB_RETURNS),
    }
    paths = []
    for name, (file, code) in files.items():
        (folder / name).mkdir()
        (folder / name / file).write_text(code)
        paths.append(folder / name / file)
    limits = Limits(call_timeout=30.0, submission_timeout=300.0)
    report = grade(submissions=paths, jobs=1, progress=False, limits=limits)
    return {Path(record.path).parent.name: record.parts[0] for record in report.submissions}


def said(html: str) -> list[str]:
    """What follows each "SAID: " in the feedback, up to the end of its message."""
    return re.findall(r"SAID: ([^<(&']*)", html)


def test_the_reversed_corpus_reaches_the_feedback_only_from_the_notebooks_example(graded):
    result = graded["raises"]
    html = part_html(result, ENVIRONMENT, Reveal())
    public = {w[::-1] for s in CORPUS for w in s.split()}
    quoted = said(html)
    assert quoted  # the notebook's corpus: shown in full
    assert all(set(q.split()) <= public for q in quoted), quoted
    assert "tokenize the notebook&#x27;s corpus" in html
    # the checks on hidden corpora: their messages, in the teacher's record, quote words the notebook does not have
    hidden = [c for c in result.checks if c.failed and not all(set(q.split()) <= public for q in said(c.message))]
    assert len(hidden) >= 5
    for check in hidden:
        assert check.feedback is not None
        assert "SAID" not in check.feedback
        assert f"raised ValueError (at line {VOCAB_LINE})" in check.feedback
    assert f"raised ValueError (at line {VOCAB_LINE})" in html
    assert "PRINTED" not in html
    assert "WARNED" not in html


def test_the_hidden_tensors_values_reach_the_feedback_only_from_the_notebooks_example(graded):
    result = graded["tensors"]
    html = part_html(result, ENVIRONMENT, Reveal())
    example = set(notebook_embedding().flatten().tolist())
    quoted = said(html)
    assert quoted  # the notebook's example: shown in full
    floats = [float(x) for q in quoted for x in re.findall(r"-?\d+\.\d+(?:e-?\d+)?", q)]
    assert floats
    assert set(floats) <= example
    floats_of = lambda text: {float(x) for x in re.findall(r"-?\d+\.\d+(?:e-?\d+)?", " ".join(said(text)))}  # noqa: E731
    hidden = [c for c in result.checks if c.failed and not floats_of(c.message) <= example]
    assert len(hidden) >= 5
    assert all("SAID" not in c.feedback and f"(at line {ATTENTION_LINE})" in c.feedback for c in hidden)
    assert "PRINTED" not in html


def test_the_words_its_objects_give_back_reach_the_feedback_only_from_the_notebooks_example(graded):
    result = graded["returns"]
    html = part_html(result, ENVIRONMENT, Reveal())
    public = {w[::-1] for s in CORPUS for w in s.split()} | {"<unk>"[::-1], "<pad>"[::-1]}
    hidden = [c for c in result.checks if c.failed and not all(set(q.split()) <= public for q in said(c.message))]
    assert hidden  # the teacher's record quotes what v[word] gave back on hidden corpora
    for check in hidden:
        assert "SAID" not in check.feedback
        assert "got str" in check.feedback or "got a list of 4" in check.feedback
    assert all(set(q.split()) <= public for q in said(html))
