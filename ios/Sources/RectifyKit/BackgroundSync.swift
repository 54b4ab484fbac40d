import Foundation

/// Why a sync is asked for. The scheduler may treat them differently.
public enum SyncReason: String, Sendable, Codable {
    /// Something was recorded on this device: send it once a network is there.
    case localChange
    /// The person asked for it, or the app came to the foreground.
    case requested
    /// The last attempt failed; try again after the backoff.
    case retry
    /// Something was recorded while the sync ran, after its push: send it next.
    case morePending
}

/// A one-off sync to run once a network is available, no sooner than `delay` from now.
public struct SyncRequest: Equatable, Sendable {
    public let reason: SyncReason
    public let delay: TimeInterval

    public init(reason: SyncReason, delay: TimeInterval) {
        self.reason = reason
        self.delay = delay
    }
}

/// Where background syncs are queued: BGTaskScheduler on iOS, a list in tests.
public protocol SyncScheduler: AnyObject, Sendable {
    func request(_ request: SyncRequest)
    /// Drops every queued sync (the device was refused and must be enrolled again).
    func cancelAll()
}

/// When to try again: a quick first retry, then patience, never hammering the office.
public struct RetryPolicy: Sendable {
    public var firstDelay: TimeInterval = 30
    public var maxDelay: TimeInterval = 3600
    public var localChangeDelay: TimeInterval = 5

    public init(firstDelay: TimeInterval = 30, maxDelay: TimeInterval = 3600, localChangeDelay: TimeInterval = 5) {
        precondition(firstDelay > 0 && maxDelay >= firstDelay, "delays must be positive, the longest not shorter")
        self.firstDelay = firstDelay
        self.maxDelay = maxDelay
        self.localChangeDelay = localChangeDelay
    }

    /// The pause after `failures` failed attempts in a row (1 gives `firstDelay`), doubling up to `maxDelay`.
    public func delay(afterFailures failures: Int) -> TimeInterval {
        let doublings = max(0, min(failures - 1, 30))
        return min(firstDelay * pow(2, Double(doublings)), maxDelay)
    }
}

/// What a background sync attempt came to. `error.reason` is the core's sentence for a status line.
public enum SyncOutcome: Sendable {
    case synced(SyncSummary)
    /// It failed for now (no network, office down, disk full); a retry is already scheduled.
    case retryLater(after: TimeInterval, error: RectifyError)
    /// Retrying cannot help until a person acts (enroll again, update the app); nothing is scheduled.
    case giveUp(error: RectifyError, needsEnrollment: Bool)
}

extension RectifyError {
    /// The core's sentence, without the case name around it.
    public var reason: String {
        switch self {
        case .InvalidInput(let reason), .NotFound(let reason), .NotPermitted(let reason),
             .IllegalTransition(let reason), .NotInitialised(let reason), .IncompatibleDatabase(let reason),
             .Storage(let reason), .Sync(let reason), .Interrupted(let reason):
            return reason
        }
    }

    /// The office refused this phone, or it never enrolled: only a new enrollment helps.
    public var needsEnrollment: Bool {
        switch self {
        case .NotPermitted, .NotInitialised: return true
        default: return false
        }
    }
}

/// What the sync status screen shows.
public struct SyncStatus: Equatable, Sendable {
    public let pendingEvents: UInt64
    /// How long the oldest unsent item has waited; nil when nothing waits.
    public let oldestUnsentAge: TimeInterval?
    /// Evidence the office has not confirmed yet: the phone must keep it.
    public let unconfirmedPhotoBytes: UInt64
    public let lastSuccessAt: Date?
    public let lastAttemptAt: Date?
    public let lastError: String?
    public let consecutiveFailures: Int
    public let needsEnrollment: Bool
}

/// The background sync's logic, free of any platform: the BGTaskScheduler task only calls `run` and ends
/// itself with the outcome. A failure schedules the next attempt with a doubling delay; a refusal by the
/// office stops everything until the device is enrolled again; success clears the failure count.
public final class BackgroundSync: @unchecked Sendable {
    private let ledger: FieldLedger
    private let scheduler: SyncScheduler
    private let records: SyncRecordStore
    private let policy: RetryPolicy
    private let clock: @Sendable () -> Date

    public init(ledger: FieldLedger, scheduler: SyncScheduler, records: SyncRecordStore,
                policy: RetryPolicy = RetryPolicy(), clock: @escaping @Sendable () -> Date = { Date() }) {
        self.ledger = ledger
        self.scheduler = scheduler
        self.records = records
        self.policy = policy
        self.clock = clock
    }

    /// Something was recorded: send it soon, once a network is there.
    public func localChange() { scheduler.request(SyncRequest(reason: .localChange, delay: policy.localChangeDelay)) }

    /// The person pulled to refresh, or the app came to the foreground.
    public func requestNow() { scheduler.request(SyncRequest(reason: .requested, delay: 0)) }

    /// One attempt, from the background task or from a "sync now" button (`progress` hears every exchange
    /// with the office). Either way the outcome is recorded and the retry scheduled the same way. A cancelled
    /// task (the system ended the background time, or the person cancelled) cancels the sync and rethrows.
    public func run(
        settings: SyncSettings? = nil,
        progress: (@Sendable (SyncProgress) -> Void)? = nil
    ) async throws -> SyncOutcome {
        let started = clock()
        let before = records.load()
        do {
            let summary = try await ledger.sync(settings: settings, progress: progress)
            try? records.save(SyncRecord(lastSuccessAt: clock(), lastAttemptAt: started))
            // A local change that came in while this sync ran, after its push, still waits: queue it.
            if summary.pending > 0 {
                scheduler.request(SyncRequest(reason: .morePending, delay: policy.localChangeDelay))
            }
            return .synced(summary)
        } catch let error as RectifyError {
            let needsEnrollment = error.needsEnrollment
            let message = describe(error)
            let failures = before.consecutiveFailures + 1
            var record = before
            record.lastAttemptAt = started
            record.lastError = message
            record.consecutiveFailures = failures
            record.needsEnrollment = needsEnrollment
            try? records.save(record)
            if case .IncompatibleDatabase = error {
                scheduler.cancelAll()
                return .giveUp(error: error, needsEnrollment: false)
            }
            if needsEnrollment {
                scheduler.cancelAll()
                return .giveUp(error: error, needsEnrollment: true)
            }
            let delay = policy.delay(afterFailures: failures)
            scheduler.request(SyncRequest(reason: .retry, delay: delay))
            return .retryLater(after: delay, error: error)
        }
    }

    /// The sync status as it stands: what waits on the device, and how the last attempts went.
    public func status() async throws -> SyncStatus {
        let outbox = try await ledger.outbox()
        let record = records.load()
        let oldest = outbox.oldestRecordedAt.flatMap(parseTimestamp)
        return SyncStatus(
            pendingEvents: outbox.pendingEvents,
            oldestUnsentAge: oldest.map { max(0, clock().timeIntervalSince($0)) },
            unconfirmedPhotoBytes: outbox.unconfirmedPhotoBytes,
            lastSuccessAt: record.lastSuccessAt,
            lastAttemptAt: record.lastAttemptAt,
            lastError: record.lastError,
            consecutiveFailures: record.consecutiveFailures,
            needsEnrollment: record.needsEnrollment
        )
    }

    /// After a new enrollment: forget the refusal and sync again.
    public func enrolled() {
        var record = records.load()
        record.lastError = nil
        record.consecutiveFailures = 0
        record.needsEnrollment = false
        try? records.save(record)
        requestNow()
    }

    private func describe(_ error: RectifyError) -> String {
        switch error {
        case .Storage(let reason): return "the phone's storage failed: \(reason)"
        case .Interrupted(let reason): return "the sync was stopped: \(reason)"
        default: return error.reason
        }
    }
}

/// The core writes times as RFC 3339 with the device's offset, with or without fractional seconds.
func parseTimestamp(_ text: String) -> Date? {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    if let date = formatter.date(from: text) { return date }
    formatter.formatOptions = [.withInternetDateTime]
    return formatter.date(from: text)
}
