"""Sampling campaigns: build a frame, preview and draw a sample, invite members, check representativeness."""
