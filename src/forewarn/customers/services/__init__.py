"""Customer operations, one module per concept: profiles, consent, merging, duplicates, importing."""
