// Swift cannot import HDF5's macro constants (some expand to globals that need H5open first, some
// import with the wrong integer type), so each one the wrapper needs is a static inline function here.
#ifndef NIGHTCAP_CHDF5_SHIM_H
#define NIGHTCAP_CHDF5_SHIM_H

#include <hdf5.h>
#include <string.h>

static inline hid_t nc_H5P_DEFAULT(void) { return H5P_DEFAULT; }
static inline hid_t nc_H5S_ALL(void) { return H5S_ALL; }
static inline hid_t nc_H5E_DEFAULT(void) { return H5E_DEFAULT; }
static inline hid_t nc_H5P_DATASET_CREATE(void) { return H5P_DATASET_CREATE; }
static inline hid_t nc_H5P_FILE_CREATE(void) { return H5P_FILE_CREATE; }
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

// Variable-length strings as they are on disk: a 4-byte length and a global heap id (the
// collection's address, 8 bytes in h5py's and HDF5's default files, and a 4-byte object index),
// 16 bytes per element, read without following the heap id (HDF5GlobalHeapCheck). HDF5 offers no
// call for that, but converts types through functions an application may register: this one turns
// a variable-length string into the opaque type below by leaving the element's disk bytes as they
// are. It accepts nothing else, so it never stands in for one of HDF5's own conversions.
#define NC_RAW_VLEN_TAG "nightcap: variable-length string as stored"
#define NC_RAW_VLEN_SIZE 16

static inline herr_t nc_raw_vlen_convert(hid_t src, hid_t dst, H5T_cdata_t *cdata, size_t nelmts, size_t buf_stride,
                                         size_t bkg_stride, void *buf, void *bkg, hid_t dxpl) {
    (void)nelmts; (void)buf_stride; (void)bkg_stride; (void)buf; (void)bkg; (void)dxpl;
    switch (cdata->command) {
    case H5T_CONV_INIT: {
        if (H5Tis_variable_str(src) <= 0 || H5Tget_class(dst) != H5T_OPAQUE) return -1;
        char *tag = H5Tget_tag(dst);
        int ours = tag != NULL && strcmp(tag, NC_RAW_VLEN_TAG) == 0;
        if (tag != NULL) H5free_memory(tag);
        // The source is the type as stored (its size is the disk element's); nothing else to do.
        if (!ours || H5Tget_size(src) != NC_RAW_VLEN_SIZE || H5Tget_size(dst) != NC_RAW_VLEN_SIZE) return -1;
        cdata->need_bkg = H5T_BKG_NO;
        return 0;
    }
    case H5T_CONV_CONV: return 0; // in place, the same size: the bytes already are the result
    case H5T_CONV_FREE: return 0;
    default: return -1;
    }
}

// The opaque type raw elements are read as; the caller closes it. Negative when HDF5 refused.
static inline hid_t nc_raw_vlen_type(void) {
    hid_t raw = H5Tcreate(H5T_OPAQUE, NC_RAW_VLEN_SIZE);
    if (raw >= 0 && H5Tset_tag(raw, NC_RAW_VLEN_TAG) < 0) { H5Tclose(raw); return -1; }
    return raw;
}

// Registers the conversion; once per process (HDF5GlobalHeapCheck's `static let`).
static inline herr_t nc_raw_vlen_register(void) {
    hid_t raw = nc_raw_vlen_type();
    if (raw < 0) return -1;
    hid_t string = H5Tcopy(H5T_C_S1);
    herr_t status = string < 0 ? -1 : H5Tset_size(string, H5T_VARIABLE);
    if (status >= 0) status = H5Tregister(H5T_PERS_SOFT, "nightcap raw vlen", string, raw, nc_raw_vlen_convert);
    if (string >= 0) H5Tclose(string);
    H5Tclose(raw);
    return status;
}

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
