// The Captioner module; see ../shared/ARCHITECTURE.md for what it owns.
