"""What the student's code says on hidden inputs is marked, and the student's feedback drops it (issue 17, 8).

``StudentError`` marks an exception's message, made-up type name and frames when the call's inputs
were hidden; a suite's message built from it keeps the marks; ``plugin.check_of`` keeps the message
for the teacher and the rest for the student (``Check.feedback``), which ``part_html`` shows.
"""

import torch

from autograder.cells import of_file
from autograder.feedback import Reveal, part_html
from autograder.records import Check, PartResult
from autograder.sandbox.student import StudentError, for_student, for_teacher, said
from autograder.suites.notebook_data import CORPUS, TOKENS, is_public, noisy_sine, notebook_embedding

CODE = "import torch\n\n\ndef tokenize(corpus, vocab):\n    x = 1\n    raise ValueError(corpus)\n"
INFO = {
    "type": "ValueError",
    "types": ["ValueError", "Exception"],
    "message": "knab ed po tiz ki",
    "frames": ["line 6, in tokenize: raise ValueError(corpus)"],
}


def test_the_marks_keep_the_words_for_the_teacher_and_drop_them_for_the_student():
    text = f"f() raised ValueError: {said('drow neddih')}{said(' (at x.py, line 9: a)', ' (at line 9)')}; more"
    assert for_teacher(text) == "f() raised ValueError: drow neddih (at x.py, line 9: a); more"
    assert for_student(text) == "f() raised ValueError (at line 9); more"


def test_a_mark_cut_off_drops_the_rest_and_marks_from_the_sandbox_are_no_marks():
    text = "f() raised ValueError: " + said("drow neddih " * 50)
    assert for_student(text[:40]) == "f() raised ValueError: "
    assert said("a\ue002b\ue000", "c\ue001") == "\ue000ab\ue001c\ue002"


def test_a_students_exception_on_hidden_inputs_says_its_type_and_line_only():
    error = StudentError("tokenize(a corpus of 14 sentences, vocab)", INFO, hidden=True, code=CODE, location="line 6")
    assert for_student(str(error)) == "tokenize(a corpus of 14 sentences, vocab) raised ValueError (at line 6)"
    assert for_teacher(str(error)) == (
        "tokenize(a corpus of 14 sentences, vocab) raised ValueError: knab ed po tiz ki "
        "(at line 6, in tokenize: raise ValueError(corpus))"
    )
    # a suite's own wording keeps the marks: "should raise ..., but raised ..." of kit.expect_error
    detail = f": {error.detail}" if error.detail else ""
    worded = f"tokenize([]) should raise TypeError, but raised {error.type_name}{detail}"
    assert for_student(worded) == "tokenize([]) should raise TypeError, but raised ValueError"
    assert "knab" in error.detail  # what suites test for their hints is still there


def test_a_type_made_up_at_run_time_is_not_named_on_hidden_inputs():
    info = {**INFO, "type": "knab_ed_po", "types": ["knab_ed_po", "ValueError"]}
    error = StudentError("tokenize(...)", info, hidden=True, code=CODE, location="line 6")
    assert for_student(str(error)) == "tokenize(...) raised an exception (at line 6)"
    assert error.isinstance("ValueError")
    own = StudentError("tokenize(...)", {**info, "type": "tokenize"}, hidden=True, code=CODE, location="line 6")
    assert for_student(str(own)) == "tokenize(...) raised tokenize (at line 6)"  # a name of their code


def test_on_public_inputs_the_exception_is_said_in_full():
    error = StudentError("tokenize(notebook corpus, vocab)", INFO, hidden=False, code=CODE)
    assert (
        for_student(str(error))
        == for_teacher(str(error))
        == (
            "tokenize(notebook corpus, vocab) raised ValueError: knab ed po tiz ki "
            "(at line 6, in tokenize: raise ValueError(corpus))"
        )
    )


def test_the_place_in_their_code_is_checked_by_the_grader():
    answers = of_file(CODE)
    assert answers.location("<submission>, line 6, in tokenize: x") == "line 6"
    assert answers.location("<submission>, line 60, in tokenize: x") == "your code"  # no such line
    assert answers.location("<answer cell 2>, line 1") == ""  # no such cell
    assert answers.location("knab ed po") == ""


def test_only_the_notebooks_own_examples_are_public():
    assert is_public([CORPUS, {"ik": 4, "<pad>": 0, "<unk>": 1}, 11, None, 0.5])
    assert is_public([notebook_embedding().double(), (TOKENS == 0)[:, None, :], noisy_sine().half(), TOKENS])
    assert is_public(torch.empty(3, 5, device="meta"))  # no values to say
    assert not is_public(["ik zit op de bank", "ik lees een boek"])
    assert not is_public(torch.randn(3, 7))
    assert not is_public(notebook_embedding() + 1)
    assert not is_public(object())
    assert is_public(object(), lambda obj: True)  # an object the sandbox made from public inputs


def test_the_feedback_shows_the_students_version_and_the_json_keeps_both():
    message = "tokenize(a corpus, vocab) raised ValueError: knab ed po (at line 6)"
    check = Check("tokenize", "matches the reference", message=message, max_points=1.0)
    check.feedback = "tokenize(a corpus, vocab) raised ValueError (at line 6)"
    html = part_html(PartResult("vocab", [check], max_score=1.0), {"devices": ["cpu"]}, Reveal())
    assert "raised ValueError (at line 6)" in html
    assert "knab" not in html
    assert Check.from_json(check.to_json()) == check
    assert "feedback" not in Check("x", "g", message="m").to_json()  # the JSON as before, when nothing differs


def test_what_their_objects_give_back_on_hidden_inputs_is_marked_where_a_message_quotes_it():
    from types import SimpleNamespace

    from autograder.cells import of_file
    from autograder.sandbox.student import Student, quoted
    from autograder.suites.compare import describe, difference

    student = Student(SimpleNamespace(limits=None), of_file(CODE), limits=SimpleNamespace(submission_timeout=60))
    student.last_public = False  # as after a call on hidden inputs
    got = student._remote(["knab", ("ed", 3)])
    student.last_public = True
    shown = student._remote(["ik", "zit"])
    assert for_student(quoted(got, describe(got))) == "a list of 2"
    assert for_teacher(quoted(got, describe(got))) == "['knab', ('ed', 3)]"
    assert for_student(quoted([got[0]], "a list of 1")) == "a list of 1"  # a list made of what it gave back
    assert for_student(difference(got[0], 4, "v[word]")) == "v[word]: expected 4, got str"
    assert for_student(difference(shown, ["ik"], "v")) == "v: expected ['ik'], got ['ik', 'zit']"  # public: in full
    student.close()
    assert for_student(quoted(got, "a list of 2")) == "['knab', ('ed', 3)]"  # no longer tracked once closed
