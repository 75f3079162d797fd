"""Benchmark suite: seed at scale, drive the app under load, compare with hand-written SQL."""
