import Foundation
@_exported import Rectify

/// One step of a sync, as `FieldLedger.syncEvents` reports it.
public enum SyncEvent: Sendable {
    /// After every exchange with the office.
    case progress(SyncProgress)
    /// The sync ended well; the stream finishes after this. A failed sync ends the stream with its error.
    case finished(SyncSummary)
}

/// A device's ledger for async/await code. The core blocks on SQLite and the network, so every call runs
/// on a private concurrent queue, never on the caller's (the main actor's) thread. The lists screens show
/// are `AsyncThrowingStream`s that read again after every write and every sync through this object.
///
/// `Device` is thread-safe, so one `FieldLedger` serves the whole app. `transport` carries every sync and
/// enrollment; `nil` uses the core's own HTTP client.
public final class FieldLedger: @unchecked Sendable {
    public let device: Device
    private let transport: SyncTransport?
    private let queue = DispatchQueue(label: "app.rectify.ledger", qos: .userInitiated, attributes: .concurrent)
    private let changes = ChangeFeed()

    public init(device: Device, transport: SyncTransport? = nil) {
        self.device = device
        self.transport = transport
    }

    /// Opens (creating when missing) the ledger at `path`; its photos live in `<path>-photos`.
    public static func open(path: String, transport: SyncTransport? = nil) async throws -> FieldLedger {
        let device = try await Task.detached { try Device.open(path: path, setup: nil) }.value
        return FieldLedger(device: device, transport: transport)
    }

    private func read<T>(_ work: @escaping @Sendable (Device) throws -> T) async throws -> T {
        let device = self.device
        return try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try work(device) }) }
        }
    }

    private func write<T>(_ work: @escaping @Sendable (Device) throws -> T) async throws -> T {
        defer { changes.bump() }
        return try await read(work)
    }

    // MARK: Identity

    /// Who this device acts for, or nil before it is enrolled.
    public func profileOrNil() async throws -> Profile? {
        try await read { device in
            do { return try device.profile() } catch RectifyError.NotInitialised { return nil }
        }
    }

    /// Enrolls with a one-time code from the office (typed, or read from its QR code).
    public func enroll(serverURL: String, code: String) async throws -> Profile {
        let transport = self.transport
        return try await write { try $0.enroll(serverUrl: serverURL, code: code, transport: transport) }
    }

    // MARK: Recording

    public func report(_ issue: NewIssue) async throws -> Issue { try await write { try $0.report(issue: issue) } }

    public func edit(_ id: IssueId, _ edit: IssueEdit) async throws -> Issue {
        try await write { try $0.edit(issueId: id, edit: edit) }
    }

    public func assign(_ id: IssueId, deadline: Date? = nil) async throws -> Issue {
        try await write { try $0.assign(issueId: id, deadline: deadline) }
    }

    public func attachPhotos(_ id: IssueId, paths: [String], note: String? = nil) async throws -> Issue {
        try await write { try $0.attachPhotos(issueId: id, photoPaths: paths, note: note) }
    }

    public func strikeOff(_ id: IssueId, paths: [String], note: String? = nil) async throws -> Issue {
        try await write { try $0.strikeOff(issueId: id, photoPaths: paths, note: note) }
    }

    public func accept(_ id: IssueId, note: String? = nil) async throws -> Issue {
        try await write { try $0.accept(issueId: id, note: note) }
    }

    public func reject(_ id: IssueId, reason: String) async throws -> Issue {
        try await write { try $0.reject(issueId: id, reason: reason) }
    }

    public func reopen(_ id: IssueId, reason: String) async throws -> Issue {
        try await write { try $0.reopen(issueId: id, reason: reason) }
    }

    public func withdraw(_ id: IssueId, duplicateOf: IssueId? = nil, note: String? = nil) async throws -> Issue {
        try await write { try $0.withdraw(issueId: id, duplicateOf: duplicateOf, note: note) }
    }

    public func comment(_ id: IssueId, text: String) async throws -> Issue {
        try await write { try $0.comment(issueId: id, text: text) }
    }

    // MARK: Reading

    public func issue(_ id: IssueId) async throws -> IssueDetail { try await read { try $0.issue(issueId: id) } }

    public func categories() async throws -> [ProblemCategory] { try await read { $0.categories() } }

    public func villages() async throws -> [VillageInfo] { try await read { try $0.villages() } }

    public func locate(_ fix: Fix) async throws -> LocatedVillage? {
        try await read { try $0.locate(lat: fix.lat, lon: fix.lon) }
    }

    /// Open issues of `category` within `radiusM` of `fix`: what to show before a possible duplicate.
    public func nearbyOpenIssues(category: String, at fix: Fix, radiusM: Double = 30) async throws -> [NearbyIssue] {
        try await read { try $0.nearbyOpenIssues(category: category, lat: fix.lat, lon: fix.lon, radiusM: radiusM) }
    }

    public func outbox() async throws -> Outbox { try await read { try $0.outbox() } }

    /// The village's negative list, now and after every change.
    public func negativeList(_ villageCode: String) -> AsyncThrowingStream<NegativeList, Error> {
        watch { try $0.negativeList(villageCode: villageCode) }
    }

    /// Issues matching `query`, now and after every change.
    public func issues(_ query: ListQuery? = nil) -> AsyncThrowingStream<[IssueSummary], Error> {
        watch { try $0.list(query: query) }
    }

    /// Strike-offs waiting for an acceptor's decision, now and after every change.
    public func awaitingAcceptance() -> AsyncThrowingStream<[IssueSummary], Error> {
        issues(ListQuery(villageCode: nil, zone: nil, status: .strikeOffRequested, overdueOnly: false))
    }

    /// Yields the query's answer now and again after every change, skipping answers equal to the last.
    private func watch<T: Equatable & Sendable>(
        _ query: @escaping @Sendable (Device) throws -> T
    ) -> AsyncThrowingStream<T, Error> {
        let ticks = changes.subscribe()
        return AsyncThrowingStream { continuation in
            let task = Task {
                var last: T?
                for await _ in ticks {
                    do {
                        let value = try await self.read(query)
                        if value != last {
                            last = value
                            continuation.yield(value)
                        }
                    } catch {
                        continuation.finish(throwing: error)
                        return
                    }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    // MARK: Sync

    /// Runs one sync. Cancelling the calling task cancels it: it stops between two exchanges with the office,
    /// and this returns (throwing `CancellationError`) only once it has stopped.
    public func sync(
        settings: SyncSettings? = nil,
        progress: (@Sendable (SyncProgress) -> Void)? = nil
    ) async throws -> SyncSummary {
        let listener = ProgressRelay(changes: changes, forward: progress)
        let job = device.syncJob(transport: transport, listener: listener, settings: settings)
        defer { changes.bump() }
        return try await withTaskCancellationHandler {
            do {
                return try await read { _ in try job.run() }
            } catch RectifyError.Interrupted where job.isCancelled() {
                throw CancellationError()
            }
        } onCancel: {
            job.cancel()
        }
    }

    /// A sync as a stream of its progress, ending with `.finished`.
    public func syncEvents(settings: SyncSettings? = nil) -> AsyncThrowingStream<SyncEvent, Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    let summary = try await self.sync(settings: settings) { continuation.yield(.progress($0)) }
                    continuation.yield(.finished(summary))
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Stops the statements other threads are running on this ledger (a write rolls back whole).
    public func interrupt() { device.interrupt() }
}

/// Forwards the core's progress callbacks, and tells watchers when a pull brought events down.
private final class ProgressRelay: SyncListener, @unchecked Sendable {
    private let changes: ChangeFeed
    private let forward: (@Sendable (SyncProgress) -> Void)?
    private let lock = NSLock()
    /// The counts are running totals: a refresh is due only when a page brought events down.
    private var eventsDown: UInt64 = 0

    init(changes: ChangeFeed, forward: (@Sendable (SyncProgress) -> Void)?) {
        self.changes = changes
        self.forward = forward
    }

    func onProgress(progress: SyncProgress) {
        lock.lock()
        let more = progress.eventsDown > eventsDown
        eventsDown = max(eventsDown, progress.eventsDown)
        lock.unlock()
        if more { changes.bump() }
        forward?(progress)
    }
}

/// Tells every subscriber that the ledger changed. A subscriber gets one tick at once (to read the first
/// answer) and at most one waiting tick after that: a burst of writes costs one read, not one per write.
final class ChangeFeed: @unchecked Sendable {
    private let lock = NSLock()
    private var subscribers: [UUID: AsyncStream<Void>.Continuation] = [:]

    func subscribe() -> AsyncStream<Void> {
        let id = UUID()
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        continuation.onTermination = { [weak self] _ in self?.remove(id) }
        lock.lock()
        subscribers[id] = continuation
        lock.unlock()
        continuation.yield()
        return stream
    }

    func bump() {
        lock.lock()
        let current = Array(subscribers.values)
        lock.unlock()
        for continuation in current { continuation.yield() }
    }

    private func remove(_ id: UUID) {
        lock.lock()
        subscribers[id] = nil
        lock.unlock()
    }
}
