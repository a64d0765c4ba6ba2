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
        self.file = file
        self.path = path
        handle = try HDF5Library.open("H5Gopen2", file: file.path, object: path, message: "cannot open the group", closer: H5Gclose) {
            HDF5ReadWatch.during(file: file.path, object: path) { H5Gopen2(file.handle.id, path, nc_H5P_DEFAULT()) }
        }
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
        try HDF5Library.call("H5Gget_info", file: file.path, object: path) {
            HDF5ReadWatch.during(file: file.path, object: path) { H5Gget_info(handle.id, &info) }
        }
        // Every link takes bytes of the file: more links than bytes is a damaged count.
        guard info.nlinks <= hsize_t(max(file.byteCount, 0)) else {
            throw HDF5Error(
                .wrongShape, file: file.path, object: path,
                message: "declares \(info.nlinks) members in a file of \(file.byteCount) bytes: the file is damaged; write or copy it again")
        }
        var names: [String] = []
        names.reserveCapacity(Int(info.nlinks))
        for index in 0..<info.nlinks {
            // A name longer than the file is a damaged length: refused like a failed call.
            let length = try HDF5Library.call("H5Lget_name_by_idx", file: file.path, object: path, failed: { $0 < 0 || $0 > max(file.byteCount, 0) }) {
                HDF5ReadWatch.during(file: file.path, object: path) {
                    H5Lget_name_by_idx(handle.id, ".", H5_INDEX_NAME, H5_ITER_INC, index, nil, 0, nc_H5P_DEFAULT())
                }
            }
            var buffer = [CChar](repeating: 0, count: Int(length) + 1)
            try HDF5Library.call("H5Lget_name_by_idx", file: file.path, object: path) {
                H5Lget_name_by_idx(handle.id, ".", H5_INDEX_NAME, H5_ITER_INC, index, &buffer, buffer.count, nc_H5P_DEFAULT())
            }
            names.append(String(hdf5Buffer: buffer))
        }
        return names
    }

    /// Whether `name` is a link in this group. Names with `/` are not followed.
    public func contains(_ name: String) -> Bool {
        guard !name.isEmpty, !name.contains("/") else { return false }
        return (HDF5Library.query { H5Lexists(handle.id, name, nc_H5P_DEFAULT()) } ?? 0) > 0
    }

    /// What `name` refers to, or nil when there is no such member.
    public func kind(of name: String) -> HDF5ObjectKind? {
        guard contains(name) else { return nil }
        // An object HDF5 cannot open (a dangling soft link, say) is "something else" here; opening it
        // as a dataset or group then reports HDF5's reason.
        guard let id = HDF5Library.query({ H5Oopen(handle.id, name, nc_H5P_DEFAULT()) }) else { return .other }
        let object = HDF5Handle(id, closer: H5Oclose)
        switch HDF5Library.query(failed: { $0 == H5I_BADID }, { H5Iget_type(object.id) }) {
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
        guard (HDF5Library.query { H5Lexists(file.handle.id, absolute, nc_H5P_DEFAULT()) } ?? 0) > 0 else {
            throw HDF5Error(.missingObject, file: file.path, object: absolute, message: "no such group")
        }
        return try HDF5Group(file: file, path: absolute)
    }

    /// Creates a subgroup. Used by tests and tools.
    ///
    /// The corresponding C function is `H5Gcreate2`.
    @discardableResult
    public func createGroup(_ name: String) throws -> HDF5Group {
        // The created group's own handle closes at once; the returned group opens it again.
        _ = try HDF5Library.open("H5Gcreate2", file: file.path, object: childPath(name), closer: H5Gclose) {
            H5Gcreate2(handle.id, name, nc_H5P_DEFAULT(), nc_H5P_DEFAULT(), nc_H5P_DEFAULT())
        }
        return try HDF5Group(file: file, path: childPath(name))
    }
}
