// The Pipeline module; see ../shared/ARCHITECTURE.md for what it owns.
