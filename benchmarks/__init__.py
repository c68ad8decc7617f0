"""Social Flow: benchmarks."""
