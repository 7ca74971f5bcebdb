"""Small helpers every package uses: the array-API namespace of numpy or torch arrays, and
atomic file writes."""
