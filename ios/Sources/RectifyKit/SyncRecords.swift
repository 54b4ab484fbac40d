import Foundation

/// How the last background syncs went: kept between launches so the status screen and the backoff survive.
public struct SyncRecord: Codable, Equatable, Sendable {
    public var lastSuccessAt: Date?
    public var lastAttemptAt: Date?
    public var lastError: String?
    public var consecutiveFailures: Int = 0
    public var needsEnrollment: Bool = false

    public init(lastSuccessAt: Date? = nil, lastAttemptAt: Date? = nil, lastError: String? = nil,
                consecutiveFailures: Int = 0, needsEnrollment: Bool = false) {
        self.lastSuccessAt = lastSuccessAt
        self.lastAttemptAt = lastAttemptAt
        self.lastError = lastError
        self.consecutiveFailures = consecutiveFailures
        self.needsEnrollment = needsEnrollment
    }
}

public protocol SyncRecordStore: AnyObject, Sendable {
    func load() -> SyncRecord
    func save(_ record: SyncRecord) throws
}

/// For tests and previews.
public final class InMemorySyncRecords: SyncRecordStore, @unchecked Sendable {
    private let lock = NSLock()
    private var record: SyncRecord

    public init(_ record: SyncRecord = SyncRecord()) { self.record = record }

    public func load() -> SyncRecord {
        lock.lock()
        defer { lock.unlock() }
        return record
    }

    public func save(_ record: SyncRecord) {
        lock.lock()
        self.record = record
        lock.unlock()
    }
}

/// A small JSON file beside the ledger, written whole and renamed into place (`.atomic`), so a crash or a
/// full disk leaves the previous record, never half of one. A record that cannot be read reads as empty:
/// it only drives the backoff and a status line.
public final class FileSyncRecords: SyncRecordStore, @unchecked Sendable {
    private let file: URL
    private let lock = NSLock()

    public init(file: URL) { self.file = file }

    public func load() -> SyncRecord {
        lock.lock()
        defer { lock.unlock() }
        guard let data = try? Data(contentsOf: file) else { return SyncRecord() }
        return (try? JSONDecoder().decode(SyncRecord.self, from: data)) ?? SyncRecord()
    }

    public func save(_ record: SyncRecord) throws {
        lock.lock()
        defer { lock.unlock() }
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try JSONEncoder().encode(record).write(to: file, options: .atomic)
    }
}

/// The phone has too little free space to take another photo safely.
public struct LowStorageError: Error, LocalizedError, Equatable {
    public let freeBytes: Int64
    public let neededBytes: Int64

    public var errorDescription: String? {
        "only \(freeBytes / 1_048_576) MiB free; at least \(neededBytes / 1_048_576) MiB are needed to take and keep a photo"
    }
}

/// Checks free space before a capture, so a full disk meets a clear message before the camera opens, not
/// a failed write after the inspector took the picture.
public enum DiskSpace {
    public static let defaultNeed: Int64 = 64 * 1_048_576

    public static func ensureRoom(at directory: URL, needed: Int64 = defaultNeed) throws {
        let attributes = try FileManager.default.attributesOfFileSystem(forPath: directory.path)
        let free = (attributes[.systemFreeSize] as? NSNumber)?.int64Value ?? 0
        if free < needed { throw LowStorageError(freeBytes: free, neededBytes: needed) }
    }
}
