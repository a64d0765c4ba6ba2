// The CaptionMetrics module; see ../shared/ARCHITECTURE.md for what it owns.
