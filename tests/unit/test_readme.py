"""Does the README say every option as `course init` writes it, and every verb of the command?"""

import re

from autograder.cli import parser
from autograder.options import OPTIONS
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()


def test_every_option_is_in_the_readme_with_its_default():
    for option in OPTIONS:  # as ruff formats the README's Python: a long line's value may be in brackets
        said = rf"c\.HiddenSuites\.{option.name} = \(?\s*{re.escape(option.shown)}"
        assert re.search(said, README), option.name


def test_every_flag_of_grade_and_course_export_is_in_the_readme():
    verbs = parser()._subparsers._group_actions[0].choices
    grade = verbs["grade"]
    export = verbs["course"]._subparsers._group_actions[0].choices["export"]
    for command in (grade, export):
        for action in command._actions:
            for flag in action.option_strings:
                if flag.startswith("--") and flag != "--help":
                    assert flag in README, flag
