// The RegionFeatures module; see ../shared/ARCHITECTURE.md for what it owns.
