"""The nbgrader side: the preprocessor that scores grade cells, ``course init``, the source notebooks."""
