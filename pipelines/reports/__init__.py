"""Reports people read: the replay overview printed by `vigie demo` (incident reports come later)."""
