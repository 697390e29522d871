"""The hidden suites, one module per part, and the pytest plugin that runs them."""
