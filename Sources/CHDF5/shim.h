// Swift cannot import HDF5's macro constants (some expand to globals that need H5open first, some
// import with the wrong integer type), so each one the wrapper needs is a static inline function here.
#ifndef NIGHTCAP_CHDF5_SHIM_H
#define NIGHTCAP_CHDF5_SHIM_H

#include <hdf5.h>

static inline hid_t nc_H5P_DEFAULT(void) { return H5P_DEFAULT; }
static inline hid_t nc_H5S_ALL(void) { return H5S_ALL; }
static inline hid_t nc_H5E_DEFAULT(void) { return H5E_DEFAULT; }
static inline hid_t nc_H5P_DATASET_CREATE(void) { return H5P_DATASET_CREATE; }
static inline hid_t nc_H5P_FILE_ACCESS(void) { return H5P_FILE_ACCESS; }
static inline hid_t nc_H5P_LINK_CREATE(void) { return H5P_LINK_CREATE; }
static inline unsigned nc_H5F_ACC_RDONLY(void) { return H5F_ACC_RDONLY; }
static inline unsigned nc_H5F_ACC_RDWR(void) { return H5F_ACC_RDWR; }
static inline unsigned nc_H5F_ACC_TRUNC(void) { return H5F_ACC_TRUNC; }
static inline unsigned nc_H5F_ACC_EXCL(void) { return H5F_ACC_EXCL; }
static inline size_t nc_H5T_VARIABLE(void) { return H5T_VARIABLE; }

static inline hid_t nc_H5T_NATIVE_FLOAT(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t nc_H5T_NATIVE_DOUBLE(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t nc_H5T_NATIVE_INT8(void) { return H5T_NATIVE_INT8; }
static inline hid_t nc_H5T_NATIVE_INT16(void) { return H5T_NATIVE_INT16; }
static inline hid_t nc_H5T_NATIVE_INT32(void) { return H5T_NATIVE_INT32; }
static inline hid_t nc_H5T_NATIVE_INT64(void) { return H5T_NATIVE_INT64; }
static inline hid_t nc_H5T_NATIVE_UINT8(void) { return H5T_NATIVE_UINT8; }
static inline hid_t nc_H5T_NATIVE_UINT16(void) { return H5T_NATIVE_UINT16; }
static inline hid_t nc_H5T_NATIVE_UINT32(void) { return H5T_NATIVE_UINT32; }
static inline hid_t nc_H5T_NATIVE_UINT64(void) { return H5T_NATIVE_UINT64; }
static inline hid_t nc_H5T_IEEE_F16LE(void) {
    // HDF5 1.10 has no predefined half type: build IEEE binary16 (little-endian) from a float copy,
    // the way h5py describes numpy's float16. The caller closes it.
    hid_t t = H5Tcopy(H5T_IEEE_F32LE);
    if (t < 0) return t;
    if (H5Tset_fields(t, 15, 10, 5, 0, 10) < 0 || H5Tset_size(t, 2) < 0 || H5Tset_ebias(t, 15) < 0) {
        H5Tclose(t);
        return -1;
    }
    return t;
}
static inline hid_t nc_H5T_IEEE_F32LE(void) { return H5T_IEEE_F32LE; }
static inline hid_t nc_H5T_IEEE_F64LE(void) { return H5T_IEEE_F64LE; }
static inline hid_t nc_H5T_STD_I64LE(void) { return H5T_STD_I64LE; }
static inline hid_t nc_H5T_STD_I32LE(void) { return H5T_STD_I32LE; }
static inline hid_t nc_H5T_C_S1(void) { return H5T_C_S1; }

static inline H5Z_filter_t nc_H5Z_FILTER_DEFLATE(void) { return H5Z_FILTER_DEFLATE; }
static inline H5Z_filter_t nc_H5Z_FILTER_SHUFFLE(void) { return H5Z_FILTER_SHUFFLE; }
static inline H5Z_filter_t nc_H5Z_FILTER_FLETCHER32(void) { return H5Z_FILTER_FLETCHER32; }
static inline H5Z_filter_t nc_H5Z_FILTER_SZIP(void) { return H5Z_FILTER_SZIP; }

// Automatic error printing is a per-thread setting in a thread-safe build: turn it off on each
// thread that calls HDF5, once.
static inline void nc_silence_errors_on_this_thread(void) {
    static __thread int silenced = 0;
    if (!silenced) {
        H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
        silenced = 1;
    }
}

#endif
