"""Index runs: stored responses + design -> analysis/ -> stored, immutable results."""
