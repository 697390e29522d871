"""Tools of the project itself: ``make demo``, ``make bench`` and the corpus of simulated students."""
