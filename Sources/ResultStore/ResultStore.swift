// The ResultStore module; see ../shared/ARCHITECTURE.md for what it owns.
