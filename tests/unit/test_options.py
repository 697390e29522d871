"""Does every option of the table reach the course configuration, and is a mistaken one refused with what is allowed?"""

import re

import pytest
from traitlets import TraitError
from traitlets.config import Config

from autograder.nbgrader.bridge import HiddenSuites
from autograder.nbgrader.course import init
from autograder.options import OPTIONS


def configured(**values: object) -> HiddenSuites:
    c = Config()
    for name, value in values.items():
        setattr(c.HiddenSuites, name, value)
    return HiddenSuites(config=c)


def test_course_init_writes_every_option_with_its_default_and_the_lines_load_as_written(tmp_path):
    text = (init(directory=tmp_path / "course") / "nbgrader_config.py").read_text()
    lines = dict(re.findall(r"^# c\.HiddenSuites\.(\w+) = (.+?)\s+# ", text, flags=re.M))
    assert list(lines) == [o.name for o in OPTIONS]
    assert {"prefetch", "show_hints", "show_expected", "show_hidden_arguments", "show_check_names"} <= set(lines)
    c = Config()
    for name, value in lines.items():  # the teacher uncomments every line
        exec(f"c.HiddenSuites.{name} = {value}", {"c": c})
    suites = HiddenSuites(config=c)
    for option in OPTIONS:
        default = getattr(option.default, "value", option.default)
        assert getattr(suites, option.name) == default, option.name


@pytest.mark.parametrize(
    ("values", "said"),
    [
        ({"device": "gpu"}, "expected any of ['auto', 'cpu', 'cuda'], not the str 'gpu'"),
        ({"sandbox": "bubblwrap"}, "expected any of ['auto', 'bubblewrap', 'none'], not the str 'bubblwrap'"),
        (
            {"jobs": -1},
            "The value of the 'jobs' trait of a HiddenSuites instance should not be less than 0, but a value of -1 was specified",
        ),
        ({"jobs": "2"}, "The 'jobs' trait of a HiddenSuites instance expected an int, not the str '2'"),
        ({"call_timeout": 0.0}, "c.HiddenSuites.call_timeout must be greater than 0, not 0.0"),
        ({"submission_timeout": -5.0}, "c.HiddenSuites.submission_timeout must be greater than 0, not -5.0"),
        ({"memory_gib": "4G"}, "The 'memory_gib' trait of a HiddenSuites instance expected a float, not the str '4G'"),
        ({"prefetch": "no"}, "The 'prefetch' trait of a HiddenSuites instance expected a boolean, not the str 'no'"),
        (
            {"show_hints": "off"},
            "The 'show_hints' trait of a HiddenSuites instance expected a boolean, not the str 'off'",
        ),
        ({"sandbx": "none"}, "unknown option c.HiddenSuites.sandbx: the options are jobs, device, sandbox,"),
    ],
)
def test_a_mistaken_option_is_refused_with_what_is_allowed(values, said):
    with pytest.raises(TraitError) as refused:
        configured(**values)
    assert said in str(refused.value)


def test_the_reveal_options_default_to_showing_everything_and_each_hides_its_own():
    assert configured().reveal() == configured().reveal().__class__()
    hidden = configured(show_hints=False, show_expected=False, show_hidden_arguments=False, show_check_names=False)
    reveal = hidden.reveal()
    assert (reveal.hints, reveal.expected, reveal.hidden_arguments, reveal.check_names) == (False, False, False, False)
    assert configured(show_expected=False).reveal().hints is True
