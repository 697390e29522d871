"""Hidden, sandboxed grading of four PyTorch attention exercises, for nbgrader and the command line."""

__version__ = "0.1.0"

#: The four parts, in course order, with the names each part defines (EXERCISES.md).
PARTS: dict[str, tuple[str, ...]] = {
    "smoother": ("gaussian_kernel", "smooth"),
    "vocab": ("build_vocab", "tokenize"),
    "attention": ("scaled_dot_product_attention",),
    "masking": ("padding_mask", "MultiHeadAttention"),
}

#: Points per part.
POINTS_PER_PART = 10.0
