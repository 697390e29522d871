"""Hidden suite of part 1, smoother: gaussian_kernel and smooth."""

import math

import pytest
import torch
import torch.nn.functional as F

from autograder.suites.kit import (
    DEVICES,
    EDGE_CASES,
    MATCHES,
    SHAPES,
    SPEED,
    UNCHANGED,
    CheckFailed,
    Mistake,
    Mistakes,
    Student,
    attempted,
    describe_call,
    difference,
    drawable,
    expect_error,
    expect_fast,
    expect_inputs_device,
    expect_same,
    expect_tensor_like,
    expect_unchanged,
    gate,
    generator,
    group,
    noisy_sine,
    nondeterministic,
    np,
    on_cuda,
    on_devices,
    png,
    recognise,
    run_portable,
    trivial,
    why,
)
from solutions.smoother import gaussian_kernel, smooth

POINTS = {MATCHES: 4.0, SHAPES: 1.5, EDGE_CASES: 1.5, DEVICES: 1.0, UNCHANGED: 0.5, SPEED: 1.5}


# ---------------------------------------------------------------- inputs


# shape of the signal, kernel size; the kernel is random (asymmetric) unless said otherwise
CASES = {
    "notebook example": None,
    "batch of 4": ((4, 50), 5),
    "output of length 1": ((3, 12), 12),
    "long kernel, one signal": ((300,), 31),
}


#: smooth's shortest windows: (shape of the signal, kernel size) by name.
EDGES = {"kernel of 1": ((5,), 1), "K = L": ((2, 9), 9), "L = 1": ((1, 1), 1)}


def inputs(case: str, seed: int, dtype=torch.float32, device: str = "cpu"):
    """smooth's (signal, kernel) of ``case`` (one of CASES or EDGES); the kernel is float32."""
    if case in EDGES:
        shape, size = EDGES[case]
        g = generator(seed)
        return torch.randn(shape, generator=g).to(device), (torch.rand(size, generator=g) + 0.1).to(device)
    if CASES[case] is None:
        signal, kernel = noisy_sine().to(dtype), gaussian_kernel(8)
    else:
        shape, size = CASES[case]
        g = generator(seed)
        signal, kernel = torch.randn(shape, generator=g).to(dtype), torch.rand(size, generator=g) + 0.1
    return signal.to(device), kernel.to(device)


#: gaussian_kernel's (size, sigma) by name; and the wide one of the edge cases.
KERNELS = {
    "size=1": (1, 1.0),
    "size=2": (2, 1.0),
    "size=5, sigma=0.7": (5, 0.7),
    "notebook: size=8": (8, 1.0),
    "size=9, sigma=2.5": (9, 2.5),
    "size=16, sigma=3": (16, 3.0),
}
WIDE = (7, 100.0)


# ---------------------------------------------------------------- known mistakes


def _density(offsets: torch.Tensor, sigma: float) -> torch.Tensor:
    return torch.exp(-0.5 * (offsets / sigma) ** 2)


def _normalised(w: torch.Tensor) -> torch.Tensor:
    return (w / w.sum()).float()


def _centred(size: int) -> torch.Tensor:
    return torch.arange(size).double() - (size - 1) / 2


OFF_CENTRE = (
    "the kernel is off-centre: offsets arange(-size // 2, size // 2) (like arange(-4, 4)), "
    "arange(size) - size // 2 or arange(size) - size / 2 are not symmetric; the centre is (size - 1) / 2"
)


def _conv(signal, kernel, **options):
    rows = signal.reshape(-1, 1, signal.shape[-1])
    out = F.conv1d(rows, kernel.to(signal).view(1, 1, -1), **options)
    return out.reshape(*signal.shape[:-1], -1)


def _first_row_only(signal, kernel, rest: str):
    """The first row of a batch smoothed; the other rows zeros, or copies of the first."""
    if signal.dim() != 2 or signal.shape[0] < 2:
        return None
    out = _conv(signal, kernel)
    out[1:] = 0 if rest == "zeros" else out[:1]
    return out


FIRST_ROW = "only the first row of the batch is smoothed: every row of a (B, L) signal must be, each on its own"


MISTAKES: Mistakes = {
    "gaussian_kernel": [
        Mistake(
            "the kernel is not normalised: divide it by its sum so that the weights add up to 1",
            lambda size, sigma=1.0: _density(torch.arange(size) - (size - 1) / 2, sigma).float(),
        ),
        Mistake(
            "the kernel is not normalised: the density's 1/(sigma*sqrt(2*pi)) does not make a kernel of a "
            "few samples sum to 1; divide by the sum instead",
            lambda size, sigma=1.0: (
                torch.distributions.Normal(0.0, sigma).log_prob(torch.arange(size) - (size - 1) / 2).exp().float()
            ),
        ),
        Mistake(
            OFF_CENTRE, lambda size, sigma=1.0: _normalised(_density(torch.arange(size).double() - size // 2, sigma))
        ),
        Mistake(
            OFF_CENTRE, lambda size, sigma=1.0: _normalised(_density(torch.arange(size).double() - size / 2, sigma))
        ),
        Mistake(
            "the offsets are stretched: linspace(-(size // 2), size // 2, size) puts the samples of an even-size "
            "kernel more than 1 apart; the offsets are arange(size) - (size - 1) / 2, one sample apart",
            lambda size, sigma=1.0: _normalised(
                _density(torch.linspace(-(size // 2), size // 2, size, dtype=torch.float64), sigma)
            ),
        ),
        Mistake(
            "the exponent is missing its 1/2: the density is exp(-u^2 / (2 sigma^2))",
            lambda size, sigma=1.0: _normalised(_density(_centred(size), sigma / math.sqrt(2))),
        ),
        Mistake(
            "the kernel must be float32, whatever dtype it is computed in: return it with .float()",
            lambda size, sigma=1.0: _normalised(_density(_centred(size), sigma)).double(),
        ),
        Mistake(
            "sigma is ignored: the kernel always has a standard deviation of 1",
            lambda size, sigma=1.0: _normalised(_density(_centred(size), 1.0)),
        ),
        Mistake(
            "sigma is used as the variance: the exponent is -u^2 / (2 sigma^2)",
            lambda size, sigma=1.0: _normalised(_density(_centred(size), math.sqrt(sigma))),
        ),
    ],
    "smooth": [
        Mistake(
            "the kernel is flipped: smooth is a cross-correlation (F.conv1d), output[i] = sum_k x[i + k] w[k]",
            lambda signal, kernel: _conv(signal, kernel.flip(0)),
        ),
        Mistake(
            "smooth normalises the kernel: use the kernel exactly as it is given",
            lambda signal, kernel: _conv(signal, kernel / kernel.sum()),
        ),
        Mistake(
            "the output is padded to the signal's length: a 'valid' window gives L - K + 1 outputs, no padding",
            lambda signal, kernel: _conv(signal, kernel, padding="same"),
        ),
        Mistake(
            "the output has the kernel's dtype: cast the kernel to the signal's dtype, not the signal to the kernel's",
            lambda signal, kernel: _conv(signal.to(kernel.dtype), kernel),
        ),
        Mistake(
            "the result was computed in float32 and cast back: a float64 signal loses its precision; "
            "compute in the signal's dtype (kernel.to(signal.dtype))",
            lambda signal, kernel: _conv(signal.float(), kernel.float()).to(signal.dtype),
        ),
        Mistake(
            "the output is padded to L + K - 1 (a 'full' convolution, np.convolve's default): a 'valid' window "
            "gives L - K + 1 outputs, no padding",
            lambda signal, kernel: _conv(signal, kernel, padding=kernel.shape[0] - 1),
        ),
        Mistake(
            "a 1-D signal must give a 1-D result of shape (L - K + 1,): the batch dimension added for conv1d "
            "was not removed",
            lambda signal, kernel: _conv(signal, kernel).reshape(1, -1) if signal.dim() == 1 else None,
        ),
        Mistake(
            "the kernel's weights are ignored: this is a plain moving average; weigh each sample by its kernel weight",
            lambda signal, kernel: _conv(signal, torch.full_like(kernel, 1.0 / kernel.shape[0])),
        ),
        Mistake(FIRST_ROW, lambda signal, kernel: _first_row_only(signal, kernel, "zeros")),
        Mistake(FIRST_ROW, lambda signal, kernel: _first_row_only(signal, kernel, "copies")),
    ],
}
BIAS_HINT = (
    "every output is off by the same constant: a bias was added (nn.Conv1d has bias=True by default; "
    "use F.conv1d without bias, or bias=False)"
)


NOT_DETERMINISTIC = (
    "your function is not deterministic: two calls on the same input gave different results "
    "(a freshly made nn.Conv1d has random weights; F.dropout is on unless training=False; no randomness belongs here)"
)


def expect_smooth(student: Student, signal, kernel, *, device: str = "cpu", keep=None) -> None:
    """The student's smooth(signal, kernel) is the reference's; else the hint of a known mistake, a bias, or
    a result that changes from call to call. ``keep``: keep it for the feedback's picture."""
    got = student.call("smooth", signal, kernel)
    expected = smooth(signal, kernel)
    if keep is not None:
        keep("smoothed", signal=signal, got=got, expected=expected)
    call = describe_call("smooth", (signal, kernel), ("signal", "kernel")) + f" on {device}"
    found = difference(got, expected)
    if not found:
        return
    hint = recognise(got, MISTAKES["smooth"], signal, kernel, expected=expected) or biased(got, expected)
    if not hint and isinstance(got, torch.Tensor):  # smooth is called once more (the others twice): same grades
        hint = nondeterministic(student, "smooth", (signal, kernel), got, NOT_DETERMINISTIC, tries=1)
    raise CheckFailed(f"{call}: {found}", hint)


def expect_gaussian_kernel(student: Student, size: int, sigma: float, *, keep=None) -> None:
    """The student's gaussian_kernel(size, sigma) is the reference's; else the hint of a known mistake."""
    got = student.call("gaussian_kernel", size, sigma)
    expected = gaussian_kernel(size, sigma)
    if keep is not None:
        keep("kernel", got=got, expected=expected)
    call = f"gaussian_kernel({size}, sigma={sigma})"
    expect_same(got, expected, call=call, mistakes=MISTAKES["gaussian_kernel"], args=(size, sigma))


def biased(got, expected) -> str:
    """BIAS_HINT if ``got`` is ``expected`` plus one constant (nn.Conv1d's bias, random at each call), else ""."""
    if not isinstance(got, torch.Tensor) or got.shape != expected.shape or got.numel() <= 1:
        return ""
    offset = (got.detach().double().cpu() - expected.double().cpu()).flatten()
    return BIAS_HINT if (offset - offset[0]).abs().max() < 1e-4 and offset[0].abs() > 1e-4 else ""


def attempt_smooth(got, signal, kernel, *, expected) -> str:
    """For the checks of how smooth works (``gate``): the hint of the known mistake ``got`` honestly makes, a
    bias left in included (the reference's result plus a constant: real work, whatever the constant); or ""."""
    return attempted(got, MISTAKES["smooth"], signal, kernel, expected=expected) or (
        biased(got, expected) if not trivial(got, (signal, kernel)) else ""
    )


# ---------------------------------------------------------------- matches the reference


@group(MATCHES)
@pytest.mark.parametrize(("size", "sigma"), list(KERNELS.values()), ids=list(KERNELS))
def test_gaussian_kernel_matches_the_reference(student, size, sigma, keep):
    """gaussian_kernel matches the reference"""
    expect_gaussian_kernel(student, size, sigma, keep=keep if (size, sigma) == (8, 1.0) else None)


@group(MATCHES)
@on_devices
@pytest.mark.parametrize("case", list(CASES))
def test_smooth_matches_the_reference(student, device, case, seed, keep):
    """smooth matches the reference"""
    picture = keep if case == "notebook example" and device == "cpu" else None
    expect_smooth(student, *inputs(case, seed, device=device), device=device, keep=picture)


@group(MATCHES)
@on_devices
@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16], ids=["fp64", "fp16", "bf16"])
def test_smooth_matches_the_reference_in_other_dtypes(student, device, dtype, seed):
    """smooth matches the reference in another dtype"""
    expect_smooth(student, *inputs("batch of 4", seed, dtype, device), device=device)


@group(MATCHES)
@pytest.mark.parametrize("scale", [-100, 100], ids=["signal of 2^-100", "signal of 2^100"])
def test_smooth_at_every_magnitude(student, scale, seed):
    """smooth matches the reference on signals of the magnitudes float32 can hold"""
    signal, kernel = inputs("batch of 4", seed)
    expect_smooth(student, signal * 2.0**scale, kernel)


# ---------------------------------------------------------------- shapes and dtypes


@group(SHAPES)
@pytest.mark.parametrize("size", [1, 6, 11])
def test_gaussian_kernel_is_float32_of_shape_size(student, size):
    """gaussian_kernel gives float32 of shape (size,)"""
    got = student.call("gaussian_kernel", size)
    if not isinstance(got, torch.Tensor):
        raise CheckFailed(f"gaussian_kernel({size}) should return a tensor, got {type(got).__name__}")
    if tuple(got.shape) != (size,) or got.dtype != torch.float32:
        raise CheckFailed(
            f"gaussian_kernel({size}): expected float32 of shape ({size},), got {got.dtype} of shape {tuple(got.shape)}"
        )


@group(SHAPES)
@pytest.mark.parametrize(
    ("signal_dtype", "kernel_dtype", "shape"),
    [
        (torch.float64, torch.float32, (30,)),
        (torch.float32, torch.float64, (2, 30)),
        (torch.float64, torch.float64, (1, 30)),
    ],
    ids=["fp64 signal, fp32 kernel", "fp32 signal, fp64 kernel", "fp64 batch of 1"],
)
def test_smooth_follows_the_signal_dtype(student, signal_dtype, kernel_dtype, shape, seed):
    """smooth returns the signal's dtype and the valid length"""
    g = generator(seed)
    signal = torch.randn(shape, generator=g, dtype=signal_dtype)
    kernel = torch.rand(4, generator=g, dtype=kernel_dtype)
    got = student.call("smooth", signal, kernel)
    call = describe_call("smooth", (signal, kernel), ("signal", "kernel"))
    expect_tensor_like(
        got,
        smooth(signal, kernel),
        call,
        lambda: recognise(got, MISTAKES["smooth"], signal, kernel, expected=smooth(signal, kernel)),
    )


# ---------------------------------------------------------------- edge cases and bad input


@group(EDGE_CASES)
@pytest.mark.parametrize(
    ("size", "sigma"), [(0, 1.0), (-2, 1.0), (5, 0.0), (5, -1.5)], ids=["size=0", "size=-2", "sigma=0", "sigma=-1.5"]
)
def test_gaussian_kernel_rejects_bad_arguments(student, size, sigma):
    """gaussian_kernel raises ValueError for size < 1 or sigma <= 0"""
    expect_error(student, "gaussian_kernel", size, sigma, what=f"gaussian_kernel({size}, sigma={sigma})")


@group(EDGE_CASES)
def test_gaussian_kernel_wide_sigma_is_nearly_flat(student):
    """gaussian_kernel with a wide sigma still sums to 1"""
    expect_gaussian_kernel(student, *WIDE)


@group(EDGE_CASES)
@pytest.mark.parametrize("case", list(EDGES))
def test_smooth_edge_lengths(student, case, seed):
    """smooth handles the shortest windows"""
    expect_smooth(student, *inputs(case, seed))


# ---------------------------------------------------------------- device portability


@group(DEVICES)
@pytest.mark.parametrize("kernel_on", ["kernel on the CPU", "kernel on the device"])
def test_smooth_makes_its_tensors_on_the_signal_device(student, kernel_on, seed):
    """smooth makes no tensor on the default device (recorded on any grader)"""
    signal, kernel = inputs("batch of 4", seed)
    call = describe_call("smooth", (signal, kernel), ("signal", "kernel"))
    outcome = student.run("smooth", signal, kernel, on_host=[1] if kernel_on == "kernel on the CPU" else [])
    expected = smooth(signal, kernel)
    gate(outcome.value, expected, call, "running on another device",
         attempt=lambda: attempt_smooth(outcome.value, signal, kernel, expected=expected))  # fmt: skip
    expect_inputs_device(outcome, call, ("signal", "kernel"))


@group(DEVICES)
@on_cuda
@pytest.mark.parametrize("kernel_on", ["kernel on the CPU", "kernel on the device"])
def test_smooth_runs_on_the_signal_device(student, device, kernel_on, seed):
    """smooth runs on the signal's device"""
    signal, kernel = inputs("batch of 4", seed)
    call = describe_call("smooth", (signal, kernel), ("signal", "kernel"))
    on_cpu = student.call("smooth", signal, kernel)
    on_cpu_expected = smooth(signal, kernel)
    gate(on_cpu, on_cpu_expected, call, "running on another device",
         attempt=lambda: attempt_smooth(on_cpu, signal, kernel, expected=on_cpu_expected))  # fmt: skip
    signal = signal.to(device)
    if kernel_on == "kernel on the device":
        kernel = kernel.to(device)
    call = describe_call("smooth", (signal, kernel), ("signal", "kernel"))
    got = run_portable(student, "smooth", signal, kernel, device=device, call=call)
    if isinstance(got, torch.Tensor) and got.device != signal.device:
        raise CheckFailed(
            f"{call} on {device}: the result is on {got.device.type}, the signal on {device}",
            "the output must be on the signal's device",
        )
    # right, or an honest attempt (each call of a fresh nn.Conv1d has a bias of its own), on the signal's device
    expected = smooth(signal, kernel)
    gate(got, expected, f"{call} on {device}", "running on another device",
         attempt=lambda: attempt_smooth(got, signal, kernel, expected=expected))  # fmt: skip


# ---------------------------------------------------------------- inputs unchanged


@group(UNCHANGED)
def test_smooth_leaves_its_inputs_unchanged(student, seed):
    """smooth leaves signal and kernel unchanged"""
    signal, kernel = inputs("batch of 4", seed)
    call = describe_call("smooth", (signal, kernel))
    expected = smooth(signal, kernel)
    expect_unchanged(
        student,
        "smooth",
        (signal, kernel),
        ["signal", "kernel"],
        expected,
        call=call,
        attempt=lambda got: attempt_smooth(got, signal, kernel, expected=expected),
    )


# ---------------------------------------------------------------- speed


@group(SPEED)
@on_devices
def test_smooth_is_vectorised(student, device, seed):
    """smooth is about as fast as a vectorised reference"""

    def make_input(k: int) -> tuple:
        g = generator(seed + k)
        return torch.randn(16, 20000, generator=g).to(device), (torch.rand(9, generator=g) + 0.1).to(device)

    expect_fast(
        student,
        "smooth",
        make_input,
        smooth,
        device=device,
        call=describe_call("smooth", make_input(0)),
        cause="a Python loop over the samples is slow: let F.conv1d (or unfold) slide the window",
        verify=lambda got, args, expected: gate(
            got,
            expected,
            describe_call("smooth", args),
            "speed",
            attempt=lambda: attempt_smooth(got, *args, expected=expected),
        ),
    )


# ---------------------------------------------------------------- feedback pictures


def _caption(got, raw, expected, what: str) -> str:
    """What the picture shows: why the student's result is not drawn, where it differs most, or that it is the
    reference's on this (the notebook's) input while the checks that failed used others (a flipped kernel here)."""
    if got is None:
        return f" ({why(raw, expected)})"
    error = (got - expected.double()).abs().nan_to_num(nan=float("inf"))
    if float(error.max()) <= 1e-6:
        return f"\n(yours equals the reference's on this {what}: the checks that failed used other inputs)"
    at = int(error.argmax())
    return f"\n(yours differs most at sample {at}, by {float(error.flatten()[at]):.3g})"


def pictures(kept: dict, plt) -> list[dict]:
    pictures = []
    if "smoothed" in kept:
        data = kept["smoothed"]
        signal, expected = data["signal"], data["expected"]
        got = drawable(data["got"], expected.shape)
        fig, ax = plt.subplots(figsize=(7, 3))
        ax.plot(np(signal), color="0.75", label="noisy signal")
        offset = np(torch.arange(len(expected)) + (len(signal) - len(expected)) / 2)
        ax.plot(offset, np(expected), lw=3, alpha=0.5, label="reference")
        if got is not None:
            ax.plot(offset, np(got), lw=1.3, label="yours")
        ax.set_title("smooth on the notebook's signal" + _caption(got, data["got"], expected, "signal"))
        ax.legend(loc="lower left", fontsize=8)
        pictures.append({"title": "Your smoothed signal over the reference's", "png": png(fig)})
    if "kernel" in kept:
        data = kept["kernel"]
        expected = data["expected"]
        got = drawable(data["got"], expected.shape)
        fig, ax = plt.subplots(figsize=(5, 2.6))
        offsets = np(torch.arange(len(expected)) - (len(expected) - 1) / 2)
        ax.bar(offsets - 0.15, np(expected), width=0.3, label="reference")
        if got is not None:
            ax.bar(offsets + 0.15, np(got), width=0.3, label="yours")
        ax.set_title("gaussian_kernel(8)" + _caption(got, data["got"], expected, "size"))
        ax.legend(fontsize=8)
        pictures.append({"title": "Your kernel beside the reference's", "png": png(fig)})
    return pictures


# ---------------------------------------------------------------- for the benchmark

#: The test cell a conventional course would write for this part: inline asserts on the notebook's
#: examples, run by nbgrader in a Jupyter kernel (``make bench`` compares that way with ours).
INLINE_TESTS = """
k = gaussian_kernel(8)
assert k.shape == (8,) and k.dtype == torch.float32
assert torch.allclose(k.sum(), torch.tensor(1.0)) and torch.allclose(k, k.flip(0))
signal = torch.randn(4, 50)
assert torch.allclose(smooth(signal, k), F.conv1d(signal[:, None], k[None, None])[:, 0], atol=1e-6)
"""
