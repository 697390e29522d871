"""Reference implementations of the four exercises, one module per part."""
