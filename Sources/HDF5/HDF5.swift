// The HDF5 module; see ../shared/ARCHITECTURE.md for what it owns.
