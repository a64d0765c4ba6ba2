import CHDF5

/// What a name in a group refers to.
public enum HDF5ObjectKind: Sendable, Equatable {
    case group, dataset, other
}

/// A group in an HDF5 file (the root, or a subgroup holding per-image datasets).
public final class HDF5Group: HDF5Object {
    public let file: HDF5File
    /// The absolute path of the group inside the file.
    public let path: String
    let handle: HDF5Handle
    var objectID: hid_t { handle.id }

    init(file: HDF5File, path: String) throws {
        HDF5Library.ensureInitialized()
        self.file = file
        self.path = path
        let id = try HDF5Library.check(
            HDF5ReadWatch.during(file: file.path, object: path) { H5Gopen2(file.handle.id, path, nc_H5P_DEFAULT()) }, "H5Gopen2",
            file: file.path, object: path,
            message: "cannot open the group")
        handle = HDF5Handle(id, closer: H5Gclose)
    }

    /// The absolute path of member `name`.
    public func childPath(_ name: String) -> String {
        path == "/" ? "/" + name : path + "/" + name
    }

    /// The names of the group's members, in HDF5's name order.
    ///
    /// The corresponding C functions are `H5Gget_info` and `H5Lget_name_by_idx`.
    public func memberNames() throws -> [String] {
        var info = H5G_info_t()
        try HDF5Library.check(
            HDF5ReadWatch.during(file: file.path, object: path) { H5Gget_info(handle.id, &info) }, "H5Gget_info", file: file.path, object: path)
        // Every link takes bytes of the file: more links than bytes is a damaged count.
        guard info.nlinks <= hsize_t(max(file.byteCount, 0)) else {
            throw HDF5Error(
                .wrongShape, file: file.path, object: path,
                message: "declares \(info.nlinks) members in a file of \(file.byteCount) bytes: the file is damaged; write or copy it again")
        }
        var names: [String] = []
        names.reserveCapacity(Int(info.nlinks))
        for index in 0..<info.nlinks {
            let length = HDF5ReadWatch.during(file: file.path, object: path) {
                H5Lget_name_by_idx(handle.id, ".", H5_INDEX_NAME, H5_ITER_INC, index, nil, 0, nc_H5P_DEFAULT())
            }
            if length < 0 || length > max(file.byteCount, 0) {
                try HDF5Library.check(herr_t(-1), "H5Lget_name_by_idx", file: file.path, object: path)
            }
            var buffer = [CChar](repeating: 0, count: Int(length) + 1)
            _ = H5Lget_name_by_idx(handle.id, ".", H5_INDEX_NAME, H5_ITER_INC, index, &buffer, buffer.count, nc_H5P_DEFAULT())
            names.append(String(hdf5Buffer: buffer))
        }
        return names
    }

    /// Whether `name` is a link in this group. Names with `/` are not followed.
    public func contains(_ name: String) -> Bool {
        HDF5Library.ensureInitialized()
        guard !name.isEmpty, !name.contains("/") else { return false }
        return H5Lexists(handle.id, name, nc_H5P_DEFAULT()) > 0
    }

    /// What `name` refers to, or nil when there is no such member.
    public func kind(of name: String) -> HDF5ObjectKind? {
        guard contains(name) else { return nil }
        let object = H5Oopen(handle.id, name, nc_H5P_DEFAULT())
        if object < 0 {
            _ = HDF5Library.errorStack()
            return .other
        }
        defer { _ = H5Oclose(object) }
        switch H5Iget_type(object) {
        case H5I_GROUP: return .group
        case H5I_DATASET: return .dataset
        default: return .other
        }
    }

    /// Opens the dataset `name` of this group.
    ///
    /// The corresponding C function is `H5Dopen2`.
    public func dataset(_ name: String) throws -> HDF5Dataset {
        guard contains(name) else {
            throw HDF5Error(.missingObject, file: file.path, object: childPath(name), message: "no such dataset")
        }
        guard kind(of: name) == .dataset else {
            throw HDF5Error(.wrongType, file: file.path, object: childPath(name), message: "is a group, not a dataset")
        }
        return try HDF5Dataset(group: self, name: name)
    }

    /// Opens the subgroup `name`.
    public func group(_ name: String) throws -> HDF5Group {
        guard contains(name) else {
            throw HDF5Error(.missingObject, file: file.path, object: childPath(name), message: "no such group")
        }
        guard kind(of: name) == .group else {
            throw HDF5Error(.wrongType, file: file.path, object: childPath(name), message: "is a dataset, not a group")
        }
        return try HDF5Group(file: file, path: childPath(name))
    }

    /// Opens a group by absolute path (`/` or `/features/train`).
    public func openGroup(path: String) throws -> HDF5Group {
        if path == "/" || path.isEmpty { return try HDF5Group(file: file, path: "/") }
        let absolute = path.hasPrefix("/") ? path : childPath(path)
        guard H5Lexists(file.handle.id, absolute, nc_H5P_DEFAULT()) > 0 else {
            _ = HDF5Library.errorStack()
            throw HDF5Error(.missingObject, file: file.path, object: absolute, message: "no such group")
        }
        return try HDF5Group(file: file, path: absolute)
    }

    /// Creates a subgroup. Used by tests and tools.
    ///
    /// The corresponding C function is `H5Gcreate2`.
    @discardableResult
    public func createGroup(_ name: String) throws -> HDF5Group {
        let id = try HDF5Library.check(
            H5Gcreate2(handle.id, name, nc_H5P_DEFAULT(), nc_H5P_DEFAULT(), nc_H5P_DEFAULT()), "H5Gcreate2",
            file: file.path, object: childPath(name))
        _ = H5Gclose(id)
        return try HDF5Group(file: file, path: childPath(name))
    }
}
