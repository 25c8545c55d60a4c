"""Fetching and text extraction: turns a source into a Capture. Knows nothing of the store."""
