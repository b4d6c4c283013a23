"""Performance benchmarks (``make bench``); figures are appended to ``benchmarks/RESULTS.md``."""
