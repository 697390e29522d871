"""The fingerprint of a submission is the same in every process, whatever its hash seed."""

import os
import subprocess
import sys

from autograder.dev.examples import reference_code
from autograder.fingerprint import fingerprint


def test_the_fingerprint_is_the_same_in_every_run():
    code = reference_code("attention")
    runs = [
        subprocess.run(
            [sys.executable, "-c", "import sys; from autograder.fingerprint import fingerprint as f; "
             "print(sorted(f(sys.stdin.read())))"],
            input=code, capture_output=True, text=True, check=True, env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    ]  # fmt: skip
    assert runs[0] == runs[1] == f"{sorted(fingerprint(code))}\n"
