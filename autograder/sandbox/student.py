"""The suites' handle on one submission: call its functions in the sandbox, get plain data back.

Suites use ``Student``: ``student.call("smooth", signal, kernel)`` sends the inputs to a child of
the sandbox's zygote, runs the student's function there, and returns its result rebuilt as plain
data. Objects that are not plain data (a ``Vocab``, a module) stay in the child and come back as
``Remote`` handles. Failures of the student's code raise ``StudentFailure`` with a message meant
for the student. A child that crashes or hangs is replaced by a fresh one on the next call; a
function that hangs or crashes twice is not called again; the submission has an overall time
budget. Every string of a reply has been cleaned by ``ChildConnection`` before it gets here
(``printable``): the lengths below only shorten it further for a message.

What the student's code says on the grader's hidden inputs (an exception's message, its type when
their code made it up, the frames it reports, the names of objects it leaves in the sandbox) could
carry those inputs in any form (words reversed, tensors as lists of floats), so it is never shown to
the student: ``StudentError`` marks it (``said``), and so does ``quoted`` the repr of a string or
container a call gave back; a message built from it keeps the marks however a suite words it,
and the student's feedback drops what is marked (``messages.for_student``; the teacher's report keeps
it, ``messages.for_teacher``), keeping the exception's type and the line of their code. A call
is on hidden inputs unless every input is the notebook's own example (the ``public`` test the suites
give, ``notebook_data.is_public``) or an object made by such a call: a suite needs to do nothing, and
what it does not say is hidden; without that test every input is hidden.

The code comes as ``Code`` (the grader's ``cells.Answers``): what to load and how to put the
sandbox's filenames into the student's words. Nothing here reads a notebook.
"""

from __future__ import annotations

import ast
import builtins
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

from autograder.messages import for_student, for_teacher, said  # noqa: F401 (the suites' and tests' names)
from autograder.sandbox import protocol, wire
from autograder.sandbox.connection import ChildConnection, ChildLost, ChildTimeout, printable
from autograder.sandbox.launch import Limits, SandboxError
from autograder.sandbox.zygote_client import OutOfTime, ZygoteClient

MAX_RESTARTS = 8
#: What a submission can import in the sandbox, said when it imports something else.
GRADER_HAS = "torch, numpy and Python's standard library"
#: A load note (``inside/load.py``) on a top-level line that raised ModuleNotFoundError: filename, line, module.
MISSING_MODULE = re.compile(
    r"(<[^>]{1,40}>), line (\d{1,9}) raised ModuleNotFoundError: No module named '([\w.]{1,100})'"
)
NAME_ERROR = re.compile(r"name '(\w{1,100})' is not defined")
MAX_FAILURES_PER_FUNCTION = 2
#: A call's seed is its check's number times this, plus its number in the check: what a check draws does not
#: depend on how many calls the checks before it made (a speed check measures again near its limit)
SEEDS_PER_CHECK = 100_000


def imports_at(source: str, line: int) -> list[tuple[str, str]]:
    """(name bound, top-level module it comes from) of each name the top-level import at ``line`` binds."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    for node in tree.body:
        if node.lineno == line and isinstance(node, ast.Import):
            return [(a.asname or a.name.split(".")[0], a.name.split(".")[0]) for a in node.names]
        if node.lineno == line and isinstance(node, ast.ImportFrom) and node.module and not node.level:
            return [(a.asname or a.name, node.module.split(".")[0]) for a in node.names if a.name != "*"]
    return []


class StudentFailure(Exception):
    """The student's code failed; the message is written for the student."""


def own_name(name: str, code: str) -> bool:
    """A name that cannot carry hidden inputs: Python's own exception, or a name written in the student's code."""
    if isinstance(getattr(builtins, name, None), type):
        return True
    return name.isidentifier() and re.search(rf"(?<!\w){re.escape(name)}(?!\w)", code) is not None


#: Values (strings and containers, by id) that the student's code returned on hidden inputs, while
#: their Student is open: ``quoted`` marks their repr.
_SAID_VALUES: dict[int, object] = {}


def _keep_said(value: object, ids: set[int], depth: int = 0) -> None:
    if isinstance(value, (str, bytes, list, tuple, dict, wire.Lookup, wire.Words)) and depth < 20:
        _SAID_VALUES[id(value)] = value  # held: its id is not reused while it is kept
        ids.add(id(value))
        items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
        for item in items[:10_000] if isinstance(items, (list, tuple)) else ():
            _keep_said(item, ids, depth + 1)


def quoted(value: object, safe: str) -> str:
    """``repr(value)`` for a message; marked (``said``, the student sees ``safe``) when the student's code returned it on hidden inputs."""
    text = repr(value)
    return said(text, safe) if _said_in(value) else text


def _said_in(value: object, depth: int = 0) -> bool:
    """Is ``value``, or anything in it, a value the student's code returned on hidden inputs?"""
    if _SAID_VALUES.get(id(value)) is value:
        return True
    if depth >= 20 or not isinstance(value, (list, tuple, dict)):
        return False
    items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
    return any(_said_in(item, depth + 1) for item in items[:10_000])


class StudentError(StudentFailure):
    """The student's code raised an exception.

    On hidden inputs (``hidden``) its message and frames are marked (``said``): the student's
    feedback says the type (made-up type names: "an exception") and ``location``, the place in
    their code that the grader checked ("answer cell 3 (tokenize), line 7").
    """

    def __init__(
        self, what: str, info: dict, hidden: bool = False, code: str = "", location: str = "", name: str = ""
    ) -> None:
        self.type_name = printable(info.get("type", "Exception"), 100)
        types = info.get("types", [])
        self.types = [printable(t, 100) for t in types[:20]] if isinstance(types, list) else []
        self.types = self.types or [self.type_name]
        self.detail = printable(info.get("message", ""))
        frames = info.get("frames", [])
        self.frames = [printable(f, 300) for f in frames[-5:]] if isinstance(frames, list) else []
        where = f" (at {self.frames[-1]})" if self.frames else ""
        if hidden:
            shown = self.type_name if own_name(self.type_name, code) else "an exception"
            self.type_name = said(self.type_name, shown) if shown != self.type_name else shown
            self.detail = said(self.detail) if self.detail else ""
            self.frames = [said(f) for f in self.frames]
            where = said(where, f" (at {location})" if location else "")
        detail = f": {self.detail}" if self.detail else ""
        #: the function (``name``, else the start of ``what``) as released: it raises NotImplementedError
        self.stub = (name or re.split(r"[^\w.]", what, maxsplit=1)[0]) if "NotImplementedError" in self.types else ""
        if self.stub:
            super().__init__(f"{what} is not implemented yet: it raises {self.type_name}{detail}{where}")
        else:
            super().__init__(f"{what} raised {self.type_name}{detail}{where}")

    def isinstance(self, name: str) -> bool:
        return name in self.types


class StudentCrash(StudentFailure):
    """The process running the student's code died."""


class StudentTimeout(StudentFailure):
    """The student's code ran past its time limit."""


@dataclass
class Remote:
    """An object that lives in the sandbox (a Vocab, a module)."""

    student: Student
    generation: int
    id: int
    type: str

    def __repr__(self) -> str:
        return f"<{self.type} in the sandbox>"


@dataclass
class Outcome:
    """One call: the value, and what the grader observed around it."""

    value: object = None
    seconds: float = 0.0  # the wall clock around the round trip
    #: of ``seconds``, what the job's thread and the child's main thread spent runnable, waiting for a CPU
    #: (``schedstat``): a busy machine's, not the code's
    waited: float = 0.0
    mutated: list[int] = field(default_factory=list)  # positions of CPU tensor inputs modified
    input_grads: list = field(default_factory=list)
    param_grads: dict = field(default_factory=dict)
    modules: list[str] = field(default_factory=list)
    #: arguments (positions, keyword names) the child says changed: metadata of tensors, items of lists.
    #: Reported from inside the sandbox: it may take points away, never give them.
    reported_changes: list[int | str] = field(default_factory=list)
    #: tensors the code made on the default device that CUDA would refuse: (kind, made by, file, line, operation),
    #: kind "mix" (met the inputs' tensors in the operation) or "result" (returned). The child's word: it may
    #: take points away, never give them.
    origins: list[tuple[str, str, str, int, str]] = field(default_factory=list)


def describe_target(target: str | Remote, attr: str = "") -> str:
    name = target if isinstance(target, str) else target.type
    return f"{name}.{attr}" if attr else name


class CodeCell(Protocol):
    """One cell of a submission's code (``cells.Cell``): its filename in the sandbox, its source, its place."""

    @property
    def filename(self) -> str: ...
    @property
    def source(self) -> str: ...
    def where(self, line: int | None = None) -> str: ...


class Code(Protocol):
    """A submission's code for the sandbox (``cells.Answers``): its cells, and the words for its filenames."""

    notes: list[str]

    @property
    def cells(self) -> Sequence[CodeCell]: ...

    @property
    def code(self) -> str: ...
    def load(self) -> list[list[str]]: ...
    def words(self, text: str) -> str: ...
    def explain(self, message: str) -> str: ...
    def missing(self, name: str) -> str: ...
    def location(self, frame: str) -> str: ...


#: ``public(value, made_public)``: are these inputs the notebook's own examples (``made_public`` says
#: whether an object in the sandbox was made from such inputs only)?
Public = Callable[[Any, Callable[[object], bool]], bool]


def nothing_public(value: Any, made_public: Callable[[object], bool]) -> bool:
    """Without the suites' test every input is hidden."""
    return False


class Student:
    """One submission's code, for one part, in the sandbox."""

    def __init__(
        self, zygote: ZygoteClient, answers: Code, limits: Limits | None = None, public: Public = nothing_public
    ) -> None:
        self.zygote = zygote
        self.answers = answers
        self.public_inputs = public  # the suites' test of the notebook's own examples
        self.code = self.answers.code
        self.limits = limits or zygote.limits
        self.deadline = time.monotonic() + self.limits.submission_timeout
        self.child: ChildConnection | None = None
        self.generation = 0
        self.restarts = 0
        self.names: list[str] = []
        self.load_error: StudentFailure | SandboxError | None = None
        self.failures: Counter[str] = Counter()
        self.blocked: dict[str, StudentFailure] = {}  # what hung or crashed: not called again, said why
        self.apis: set[str] = set()  # forbidden APIs seen in any call
        #: calls that ran a forbidden API (it raised, or the watch saw it): the cause of the checks they fail
        self.forbidden_calls = 0
        #: functions of the student's that the child replaces by the grader's stand-in in every call (a copied
        #: part-3 attention that does not compile or raises: its mistakes are part 3's), and what a suite found once
        self.stand_ins: set[str] = set()
        self.memo: dict[str, object] = {}
        self.calls = 0  # calls made so far in this check (``begin_check``)
        self.check = 0  # the check being run, counted from 0: with ``calls``, the seed of a call's random numbers
        #: seconds the job's thread and the child's waited, runnable, for a CPU during the exchanges so far
        self.waited = 0.0
        self.events: list[str] = []  # crashes and timeouts, for the report
        #: what the grader noticed in the answers, the top-level lines that raised when loaded, notes the suites add
        self.notes: list[str] = list(self.answers.notes)
        self.loaded = False
        self.public: set[int] = set()  # ids of the objects in the sandbox made by calls on public inputs only
        self.last_public = False  # the request last answered had public inputs only
        self.said_values: set[int] = set()  # ids in ``_SAID_VALUES`` of the values this student's calls returned
        #: a module the grader does not have, imported at the top level: the names it would bind -> the module
        self.absent: dict[str, str] = {}
        self.causes: list[str] = []  # why, in words: one per such import, said once, as the part's first note

    # --- the child

    def _ensure(self) -> None:
        if self.load_error is not None:
            raise self.load_error
        if self.child is not None and self.child.open:
            return
        if self.restarts >= MAX_RESTARTS:
            raise StudentCrash(f"your code crashed or hung {self.restarts} times; it is not run again")
        try:
            self.child = ChildConnection(self.zygote, self.limits, self.deadline)
        except SandboxError as error:  # no usable sandbox: the other checks fail at once, with the same error
            self.load_error = error
            raise
        except OutOfTime:  # the submission's time ran out (its sandbox stopped answering, if it stopped it)
            self.load_error = self.out_of_time()
            raise self.load_error from None
        self.generation += 1
        try:
            reply, _ = self._exchange({"op": protocol.LOAD, "cells": self.answers.load()}, "loading your code")
        except StudentFailure as failure:
            self.load_error = failure
            raise
        if "error" in reply:
            self.load_error = StudentError("loading your code", self.in_words(reply["error"]))
            raise self.load_error
        names = reply.get("names", [])
        self.names = [n for n in names if isinstance(n, str)] if isinstance(names, list) else []
        notes = reply.get("notes", [])
        if isinstance(notes, list) and not self.loaded:
            notes = [n for n in notes[:10] if isinstance(n, str) and not self.missing_module(n)]
            self.notes = [*self.causes, *self.notes, *(self.note(n) for n in notes)]  # the causes first
        self.loaded = True

    def missing_module(self, note: str) -> bool:
        """Is ``note`` a top-level import of a module the grader lacks? Then its names and the cause are kept.

        The note only says which line raised; the module and the names that line binds are read from
        the grader's own copy of the code, so nothing the sandbox says gets into a message.
        """
        found = MISSING_MODULE.match(note)
        cell = {c.filename: c for c in self.answers.cells}.get(found.group(1)) if found else None
        if found is None or cell is None:
            return False
        module = found.group(3).split(".")[0]
        bound = imports_at(cell.source, int(found.group(2)))
        first = next((i for i, (_, top) in enumerate(bound) if top == module), None)
        if first is None:  # the line is no import of that module (it raised for another reason): a plain note
            return False
        names = list(dict.fromkeys(name for name, _ in bound[first:]))  # `import a, b`: b failing leaves a bound
        self.absent.update(dict.fromkeys(names, module))
        self.causes.append(
            f"No module named {module!r}: the grader has {GRADER_HAS}, not {module}; the import at "
            f"{cell.where(int(found.group(2)))} was skipped, so {', '.join(f'`{n}`' for n in names)} is not defined"
        )
        return True

    def note(self, text: str) -> str:
        """A note of the child's, in words: its cell and line, and why a name it misses is missing."""
        text = self.answers.words(printable(text, 300))
        why = self.answers.explain(text)
        return f"{text}: {why}" if why else text

    def in_words(self, info: dict) -> dict:
        """An error of the child's with its cells and lines in words, and why a name it misses is missing."""
        if not isinstance(info, dict):
            return {}
        info = dict(info)
        message = self.answers.words(printable(info.get("message", "")))
        why = self.answers.explain(message) if info.get("type") == "NameError" else ""
        info["message"] = f"{message}: {why}" if why else message
        frames = info.get("frames", [])
        info["frames"] = (
            [self.answers.words(printable(f, 300)) for f in frames[-5:]] if isinstance(frames, list) else []
        )
        return info

    def _exchange(self, message: dict, what: str) -> tuple[dict, list]:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise self.out_of_time()
        timeout = min(self.limits.call_timeout, remaining)
        try:
            if self.child is None:
                raise ChildLost("the child is gone")
            answer = self.child.exchange(message, timeout)
            self.waited += self.child.waited
            return answer
        except ChildTimeout:
            self.restarts += 1
            self.events.append(f"{what}: timed out after {timeout:.1f} s")
            raise StudentTimeout(f"{what} did not finish within {timeout:.1f} s") from None
        except ChildLost as lost:
            self.restarts += 1
            status = lost.status
            if lost.wire_error is not None and "channel broke" not in str(lost.wire_error):
                text = f"{what} sent back something that is not plain data ({lost.wire_error})"
            elif status.startswith("out of memory: "):
                text = (
                    f"the process running your code was stopped during {what}: {status.removeprefix('out of memory: ')}"
                )
            elif status.startswith(("exited", "killed")):
                text = f"the process running your code {status} during {what}"
            else:
                text = f"the process running your code stopped during {what} ({status})"
            self.events.append(text)
            raise StudentCrash(text) from None

    def out_of_time(self) -> StudentTimeout:
        return StudentTimeout(
            f"the time limit for this submission ({self.limits.submission_timeout:.0f} s) was reached"
        )

    def begin_check(self, number: int) -> None:
        """The check numbered ``number`` (from 0, in the suite's order) starts: its calls' seeds are its own."""
        self.check, self.calls = number, 0

    def close(self) -> None:
        for key in self.said_values:
            _SAID_VALUES.pop(key, None)
        self.said_values.clear()
        if self.child is not None:
            self.child.close()
            self.child = None

    # --- requests

    def _handle(self, obj: Any) -> Any:
        if isinstance(obj, Remote):
            if obj.student is not self or obj.generation != self.generation:
                raise StudentFailure(f"the {obj.type} made earlier no longer exists: your code crashed since")
            return wire.Handle(obj.id, obj.type)
        if type(obj) in (list, tuple):
            return type(obj)(self._handle(x) for x in obj)
        if type(obj) is dict:
            return {k: self._handle(v) for k, v in obj.items()}
        return obj

    def _remote(self, obj: Any) -> Any:
        value = self._remote_value(obj)
        if not self.last_public:  # its text (strings, containers) is what their code said on hidden inputs
            _keep_said(value, self.said_values)
        return value

    def _remote_value(self, obj: Any) -> Any:
        if isinstance(obj, wire.Handle):
            if self.last_public:
                self.public.add(obj.id)
            kind = obj.type if self.last_public or own_name(obj.type, self.code) else "object"  # a made-up class name
            return Remote(self, self.generation, obj.id, kind)
        if isinstance(obj, list):
            return [self._remote_value(x) for x in obj]
        if isinstance(obj, tuple):
            return tuple(self._remote_value(x) for x in obj)
        if isinstance(obj, dict):
            return {k: self._remote_value(v) for k, v in obj.items()}
        return obj

    def request(
        self,
        op: str,
        target: str | Remote,
        attr: str = "",
        what: str | None = None,
        operation: str = "",
        **fields: Any,
    ) -> tuple[dict[str, Any], list[tuple[int, bytes]]]:
        """Send one request about ``target`` (a name or a Remote); the reply and the arena record.

        A call that hangs or crashes blocks what it called, named by ``operation`` where one object answers
        several (``word in v`` and ``v[word]``): the operations that work go on being graded.
        """
        what = what or describe_target(target, attr)
        key = operation or describe_target(target if isinstance(target, str) else target.type, attr)
        if key in self.blocked:
            raise type(self.blocked[key])(str(self.blocked[key]))
        self._ensure()
        message = {"op": op, **{k: self._handle(v) for k, v in fields.items()}}
        if isinstance(target, Remote):
            message["handle"] = self._handle(target)
        else:
            message["name"] = target
        if attr:
            message["attr"] = attr
        inputs = [fields.get(k) for k in ("args", "kwargs", "keys", "params", "grad")]
        public = self.is_public([target, *inputs] if isinstance(target, Remote) else inputs)  # a name is no input
        self.last_public = public
        try:
            reply, shared = self._exchange(message, what)
            if (
                op == protocol.LOOKUP
                and "error" in reply
                and self.in_words(reply["error"]).get("type") == protocol.ENDLESS_IN
            ):
                # the child's `in` found it would never end: a hang known without waiting, blocked as one
                raise StudentTimeout(
                    f"{what} never finishes: {protocol.ENDLESS_IN_READS:,} of its items were read without the key or an end"
                )
        except (StudentTimeout, StudentCrash) as failure:
            self.failures[key] += 1
            if self.failures[key] >= MAX_FAILURES_PER_FUNCTION or isinstance(failure, StudentTimeout):
                self.blocked[key] = type(failure)(f"{failure} (earlier; {key} is not called again)")
            raise
        if "error" in reply:
            error = reply["error"]
            info = self.in_words(error)
            api = forbidden_raised(info)
            if api:  # the zygote's stub of a forbidden API raised (the child's word: a hint, never points)
                self.apis.add(api)
                self.forbidden_calls += 1
            if isinstance(target, str) and info.get("message") == f"your code does not define {target}":
                why = self.answers.missing(target)
                raise StudentFailure(printable(info["message"], 200) + (f": {why}" if why else ""))
            frames = error.get("frames") if isinstance(error, dict) else None
            location = self.answers.location(frames[-1]) if isinstance(frames, list) and frames else ""
            raised = StudentError(what, info, hidden=not public, code=self.code, location=location, name=key)
            if raised.isinstance("NameError"):
                missing = NAME_ERROR.search(str(info.get("message", "")))
                module = self.absent.get(missing.group(1)) if missing else None
                if module:  # the cause is said once, in a note: each check only points to it
                    raised.args = (f"{what} needs {module}, which the grader does not have (see the note)",)
            raise raised
        apis = reply.get("apis", [])
        if isinstance(apis, list):  # only names the grader knows: a made-up one could carry an input
            known = {a for a in apis[:10] if isinstance(a, str) and a in protocol.FORBIDDEN_APIS}
            self.apis.update(known)
            self.forbidden_calls += bool(known)
        return reply, shared

    def is_public(self, value: Any) -> bool:
        """Are these the notebook's own example inputs (or objects made from them only)? Else they are hidden."""

        def made_public(obj: object) -> bool:
            return (
                isinstance(obj, Remote)
                and obj.student is self
                and obj.generation == self.generation
                and obj.id in self.public
            )

        return self.public_inputs(value, made_public)

    def run(
        self,
        target: str | Remote,
        *args: Any,
        attr: str = "",
        grad: dict | None = None,
        modules: bool = False,
        watch: bool = True,
        on_host: Sequence[int] = (),
        **kwargs: Any,
    ) -> Outcome:
        """Call ``target(*args, **kwargs)`` in the sandbox (``target.attr`` if given); ``on_host``: positions of
        inputs that stand for tensors left on the CPU, the others on a GPU (``Outcome.origins``)."""
        self.calls += 1  # the seed of the call's random numbers: regrading draws the same, a repeated call others
        fields: dict[str, Any] = {
            "seed": self.check * SEEDS_PER_CHECK + self.calls,
            "args": list(args),
            "kwargs": kwargs,
            "modules": modules,
            "watch": watch,
            "on_host": list(on_host),
        }
        if grad is not None:
            fields["grad"] = grad
        if self.stand_ins:
            fields["stand_in"] = sorted(self.stand_ins)
        start, waited = time.perf_counter(), self.waited
        reply, shared = self.request(protocol.CALL, target, attr, **fields)
        seconds = time.perf_counter() - start
        mutated = self.child.changed(shared) if self.child is not None and self.child.open else []
        return Outcome(
            value=self._remote(reply.get("result")),
            seconds=seconds,
            waited=min(self.waited - waited, seconds),
            mutated=mutated,
            input_grads=reply.get("input_grads") or [],
            param_grads=reply.get("param_grads") or {},
            modules=[m for m in reply.get("modules", []) if isinstance(m, str)],
            reported_changes=list(
                dict.fromkeys(
                    _changed_args(reply.get("changed_args"), kwargs)
                    + _changed_containers(reply.get("containers_after"), args, kwargs)
                )
            ),
            origins=_origins(reply.get("origins")),
        )

    def call(self, target: str | Remote, *args: Any, attr: str = "", **kwargs: Any) -> Any:
        """The value of ``target(*args, **kwargs)``, run in the sandbox."""
        return self.run(target, *args, attr=attr, **kwargs).value

    def round_trip(self, args: tuple, times: int = 3, less_waits: bool = False) -> float:
        """Seconds of a round trip carrying ``args`` both ways to a fresh child that runs no student code
        (the fastest of ``times``; with ``less_waits``, less what the two threads waited for a CPU).

        The student's own child ends first (one child at a time): objects made in it are gone, and
        its code is loaded again on the next call.
        """
        self.close()
        child = ChildConnection(self.zygote, self.limits)
        try:
            seconds = []
            for _ in range(times):
                start = time.perf_counter()
                child.exchange({"op": protocol.ECHO, "args": list(args)}, self.limits.call_timeout)
                seconds.append(max(time.perf_counter() - start - (child.waited if less_waits else 0.0), 0.0))
        finally:
            child.close()
        return min(seconds)

    def get(self, target: str | Remote, attr: str) -> Any:
        reply, _ = self.request(protocol.GET, target, attr, what=f"{describe_target(target)}.{attr}")
        return self._remote(reply.get("result"))

    def len(self, target: str | Remote) -> object:
        what = f"len({describe_target(target)})"
        return self.request(protocol.LEN, target, what=what, operation=what)[0].get("result")

    def lookup(self, target: str | Remote, keys: list, how: str = "getitem") -> list:
        """``[target[k] for k in keys]`` (or ``k in target``), in one round trip."""
        name = describe_target(target)
        what = f"'word in v' (v: your {name})" if how == "contains" else f"v[word] (v: your {name})"
        operation = f"word in {name}" if how == "contains" else f"{name}[word]"
        reply, _ = self.request(protocol.LOOKUP, target, what=what, operation=operation, keys=list(keys), how=how)
        values = reply.get("result")
        if not isinstance(values, list) or len(values) != len(keys):
            raise StudentFailure(f"{what} gave back {len(values) if isinstance(values, list) else 'no'} answers")
        return [self._remote(v) for v in values]

    def set_params(self, target: Remote, params: dict[str, torch.Tensor]) -> None:
        self.request(protocol.SET_PARAMS, target, what=f"loading weights into {target.type}", params=params)


_FORBIDDEN_RAISED = re.compile(r"this exercise does not allow ([\w.]+):")


def forbidden_raised(info: dict) -> str:
    """The forbidden API whose stub (``sandbox.inside.watch``) raised this error, or "": only names the grader knows."""
    found = _FORBIDDEN_RAISED.search(str(info.get("message", ""))) if info.get("type") == "RuntimeError" else None
    name = found.group(1) if found else ""
    known = name in protocol.FORBIDDEN_APIS or (name.startswith("torch.ops.aten.") and "attention" in name)
    return name if known else ""


_ORIGIN_NAME = re.compile(r"(?:torch\.|\.)?[A-Za-z_][A-Za-z0-9_]{0,40}(?:\(\))?")
_ORIGIN_FILE = re.compile(r"(?:<answer cell \d{1,6}>|<submission>)?")


def _origins(value: object) -> list[tuple[str, str, str, int, str]]:
    """The child's record of tensors on the default device, kept only where each field is what the watch writes."""
    if not isinstance(value, list):
        return []
    kept = []
    for entry in value[:8]:
        if not (isinstance(entry, list) and len(entry) == 5):
            continue
        kind, made_by, file, line, op = entry
        if (
            kind in ("mix", "result")
            and isinstance(made_by, str) and _ORIGIN_NAME.fullmatch(made_by)
            and isinstance(file, str) and _ORIGIN_FILE.fullmatch(file)
            and type(line) is int and 0 <= line < 10**9
            and isinstance(op, str) and (op == "" or _ORIGIN_NAME.fullmatch(op))
        ):  # fmt: skip
            kept.append((kind, made_by, file, line, op))
    return kept


def _changed_containers(after: object, args: tuple, kwargs: dict) -> list[int | str]:
    """The list and dict arguments whose state after the call, as the child gives it back, differs from the
    grader's own copy of what it sent (the arguments themselves: the wire sent a copy, these never change).

    The child's word: a state given back that differs fails the check of unchanged inputs; one that is
    missing or the same passes nothing by itself (that check also needs a right result, see ``gate``).
    """
    if not isinstance(after, dict):
        return []
    changed: list[int | str] = []
    sent = {**{str(i): a for i, a in enumerate(args)}, **kwargs}
    for key, value in sent.items():
        if type(value) in (list, dict) and key in after and after[key] != value:
            changed.append(int(key) if key.isdigit() else key)
    return changed


def _changed_args(value: object, kwargs: dict) -> list[int | str]:
    """The child's list of changed arguments, kept only as far as it names real positions and keywords."""
    if not isinstance(value, list):
        return []
    return [v for v in value[:32] if (type(v) is int and 0 <= v < 64) or (type(v) is str and v in kwargs)]
