"""Developer tools that are not part of the product path (the sample generator)."""
