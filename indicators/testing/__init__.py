"""Analysts' unit tests of indicators: a YAML format in the spirit of promtool's rule tests,
the series notation, and the runner that plays each test through the flow's own code
(`citysigns test PATHS...`)."""
