/// Why a model file could not be read or written.
public typealias ModelFileError = FileError
