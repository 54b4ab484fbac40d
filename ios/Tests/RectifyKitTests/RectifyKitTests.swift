// RectifyKit against a real office on loopback, as the iOS app uses it: async/await, change streams,
// the URLSession transport with photo chunks through an upload session, and the background sync's logic
// with a fake scheduler.
//
// Run by scripts/test-bindings.sh (`ios`) with `swift test` inside a Debian trixie chroot; the fixture's
// office address, codes and photos arrive in the environment.

import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import XCTest
@testable import RectifyKit

private let env = ProcessInfo.processInfo.environment
private let work: URL = {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rectify-kit-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}()
private func need(_ name: String) -> String {
    guard let value = env[name] else { fatalError("\(name) is not set: run scripts/test-bindings.sh ios") }
    return value
}
private let officeURL = need("RECTIFY_OFFICE_URL")
private let village = need("RECTIFY_VILLAGE")
private let lat = Double(need("RECTIFY_LAT"))!
private let lon = Double(need("RECTIFY_LON"))!
private let quick = SyncSettings(fullPhotos: false, maxAttempts: 2, firstRetryMs: 20)

private func path(_ name: String) -> String { work.appendingPathComponent("\(name).db").path }

private func here(_ note: String, photos: [String] = []) -> NewIssue {
    NewIssue(category: "village.scattered_garbage", at: Fix(lat: lat, lon: lon, accuracyM: 5),
             photoPaths: photos, note: note, villageCode: nil, villageReason: nil)
}

/// URLSession, with a switch that makes it behave as a phone with no signal.
final class Switchable: SyncTransport, @unchecked Sendable {
    private let inner: SyncTransport
    private let lock = NSLock()
    private var offline = false
    private var hook: (@Sendable (HttpRequest) -> Void)?
    init(_ inner: SyncTransport) { self.inner = inner }
    func set(online: Bool) { lock.lock(); offline = !online; lock.unlock() }
    /// Runs before each request is sent, on the sync's thread.
    func beforeSend(_ hook: (@Sendable (HttpRequest) -> Void)?) { lock.lock(); self.hook = hook; lock.unlock() }
    func send(request: HttpRequest) throws -> HttpResponse {
        lock.lock()
        let down = offline
        let hook = self.hook
        lock.unlock()
        hook?(request)
        if down { throw TransportError.Unreachable(reason: "no signal in the fields") }
        return try inner.send(request: request)
    }
}

/// What a progress callback heard.
final class Progress: @unchecked Sendable {
    private let lock = NSLock()
    private var seen: [SyncPhase] = []
    var phases: [SyncPhase] { lock.lock(); defer { lock.unlock() }; return seen }
    func add(_ progress: SyncProgress) { lock.lock(); seen.append(progress.phase); lock.unlock() }
}

/// An office that refuses this device, as after its token was revoked.
final class Refusing: SyncTransport, @unchecked Sendable {
    func send(request: HttpRequest) throws -> HttpResponse {
        HttpResponse(status: 401, headers: [], body: Data(#"{"error":"revoked"}"#.utf8))
    }
}

final class FakeScheduler: SyncScheduler, @unchecked Sendable {
    private let lock = NSLock()
    private var queued: [SyncRequest] = []
    private var cancels = 0
    var requests: [SyncRequest] { lock.lock(); defer { lock.unlock() }; return queued }
    var cancelled: Int { lock.lock(); defer { lock.unlock() }; return cancels }
    func request(_ request: SyncRequest) { lock.lock(); queued.append(request); lock.unlock() }
    func cancelAll() { lock.lock(); cancels += 1; queued.removeAll(); lock.unlock() }
}

/// The first value of `stream` that satisfies `condition`.
private func first<T>(_ stream: AsyncThrowingStream<T, Error>, where condition: (T) -> Bool) async throws -> T {
    for try await value in stream where condition(value) { return value }
    throw RectifyError.NotFound(reason: "the stream ended")
}

final class RectifyKitTests: XCTestCase {
    func testAWholeFieldStoryWithStreamsAndPhotoChunksThroughTheUploadSession() async throws {
        let uploads = PhotoUploadSession(configuration: .ephemeral, spool: work.appendingPathComponent("spool"))
        let transport = URLSessionTransport(session: URLSession(configuration: .ephemeral), photoUploads: uploads)

        let secretary = try await FieldLedger.open(path: path("secretary"), transport: URLSessionTransport())
        _ = try await secretary.enroll(serverURL: officeURL, code: need("RECTIFY_CODE_SECRETARY"))
        _ = try await secretary.sync(settings: quick)
        let list = secretary.negativeList(village)
        let empty = try await first(list) { _ in true }
        XCTAssertEqual(empty.remaining, 0)

        let inspector = try await FieldLedger.open(path: path("inspector"), transport: transport)
        let none = try await inspector.profileOrNil()
        XCTAssertNil(none, "a fresh device has no user yet")
        let profile = try await inspector.enroll(serverURL: officeURL, code: need("RECTIFY_CODE_INSPECTOR"))
        XCTAssertEqual(profile.role, .inspector)
        _ = try await inspector.sync(settings: quick)
        let categories = try await inspector.categories()
        XCTAssertEqual(categories.first { $0.code == "village.scattered_garbage" }?.zh, "村内散落垃圾")
        let fix = Fix(lat: lat, lon: lon, accuracyM: 5)
        let located = try await inspector.locate(fix)
        XCTAssertEqual(located?.villageCode, village)

        let issue = try await inspector.report(here("garbage by the pond", photos: [need("RECTIFY_PHOTO_BEFORE")]))
        let nearby = try await inspector.nearbyOpenIssues(category: "village.scattered_garbage", at: fix)
        XCTAssertEqual(nearby.map(\.issue.id), [issue.id])
        var phases: [SyncPhase] = []
        var finished: SyncSummary?
        for try await event in inspector.syncEvents(settings: quick) {
            switch event {
            case .progress(let progress): phases.append(progress.phase)
            case .finished(let summary): finished = summary
            }
        }
        XCTAssertEqual(finished?.pushed, 1)
        XCTAssertEqual(finished?.photosUp, 1)
        XCTAssertTrue(phases.contains(.photosUp) && phases.last == .done, "\(phases)")
        XCTAssertGreaterThan(uploads.uploads, 0, "the photo's chunks went through the upload session")

        _ = try await secretary.sync(settings: quick)
        let listed = try await first(list) { $0.remaining == 1 }
        XCTAssertEqual(listed.items.map(\.id), [issue.id])
        _ = try await secretary.strikeOff(issue.id, paths: [need("RECTIFY_PHOTO_AFTER")], note: "cleared")
        let struck = try await first(list) { $0.awaitingAcceptance == 1 }
        XCTAssertEqual(struck.items.first?.status, .strikeOffRequested)
        _ = try await secretary.sync(settings: quick)

        let acceptor = try await FieldLedger.open(path: path("acceptor"), transport: URLSessionTransport())
        _ = try await acceptor.enroll(serverURL: officeURL, code: need("RECTIFY_CODE_ACCEPTOR"))
        _ = try await acceptor.sync(settings: quick)
        let waiting = try await first(acceptor.awaitingAcceptance()) { _ in true }
        XCTAssertEqual(waiting.map(\.id), [issue.id])
        let accepted = try await acceptor.accept(issue.id, note: "checked on site")
        XCTAssertEqual(accepted.status, .accepted)
        _ = try await acceptor.sync(settings: quick)

        _ = try await inspector.sync(settings: SyncSettings(fullPhotos: true, maxAttempts: 2, firstRetryMs: 20))
        let detail = try await inspector.issue(issue.id)
        XCTAssertEqual(detail.history.map(\.kind), ["reported", "strike_off_requested", "accepted"])
        XCTAssertEqual(detail.photos.count, 2, "before and after, side by side")
    }

    func testNoSignalRetriesWithBackoffThenTheNetworkReturnsAndEverythingIsSent() async throws {
        let transport = Switchable(URLSessionTransport())
        let ledger = try await FieldLedger.open(path: path("backoff"), transport: transport)
        _ = try await ledger.enroll(serverURL: officeURL, code: need("RECTIFY_CODE_HOST_TRANSPORT"))
        _ = try await ledger.sync(settings: quick)
        _ = try await ledger.report(here("bags by the school gate", photos: [need("RECTIFY_PHOTO_THIRD")]))

        let clock = Date().addingTimeInterval(7200)
        let scheduler = FakeScheduler()
        let records = FileSyncRecords(file: work.appendingPathComponent("backoff-record.json"))
        let sync = BackgroundSync(ledger: ledger, scheduler: scheduler, records: records, clock: { clock })

        transport.set(online: false)
        guard case .retryLater(let first, _) = try await sync.run(settings: quick) else { return XCTFail("no retry") }
        guard case .retryLater(let second, _) = try await sync.run(settings: quick) else { return XCTFail("no retry") }
        XCTAssertEqual([first, second], [30, 60])
        XCTAssertEqual(scheduler.requests, [SyncRequest(reason: .retry, delay: 30), SyncRequest(reason: .retry, delay: 60)])
        let status = try await sync.status()
        XCTAssertEqual(status.pendingEvents, 1)
        let age = try XCTUnwrap(status.oldestUnsentAge)
        XCTAssertTrue((7140...7500).contains(age), "oldest unsent age \(age)")
        XCTAssertEqual(status.consecutiveFailures, 2)
        XCTAssertEqual(FileSyncRecords(file: work.appendingPathComponent("backoff-record.json")).load().consecutiveFailures, 2)

        transport.set(online: true)
        let heard = Progress()
        guard case .synced(let summary) = try await sync.run(settings: quick, progress: { heard.add($0) }) else {
            return XCTFail("no sync")
        }
        XCTAssertEqual(heard.phases.last, .done, "a sync-now button hears every exchange")
        XCTAssertEqual(summary.pushed, 1)
        XCTAssertEqual(summary.photosUp, 1)
        let after = try await sync.status()
        XCTAssertEqual(after.pendingEvents, 0)
        XCTAssertNil(after.oldestUnsentAge)
        XCTAssertEqual(after.consecutiveFailures, 0)
        XCTAssertNil(after.lastError)
        XCTAssertEqual(scheduler.requests.count, 2, "a success schedules no retry")

        // An issue recorded while a sync runs, after its push, is not sent by it: the sync queues the next.
        let device = ledger.device
        let once = NSLock()
        nonisolated(unsafe) var recorded = false
        transport.beforeSend { request in
            once.lock()
            defer { once.unlock() }
            if request.path.hasPrefix("/v1/pull") && !recorded {
                recorded = true
                _ = try? device.report(issue: here("recorded while syncing"))
            }
        }
        guard case .synced(let racing) = try await sync.run(settings: quick) else { return XCTFail("no sync") }
        XCTAssertEqual(racing.pending, 1)
        XCTAssertEqual(scheduler.requests.last, SyncRequest(reason: .morePending, delay: 5))
        transport.beforeSend(nil)
        guard case .synced(let followUp) = try await sync.run(settings: quick) else { return XCTFail("no sync") }
        XCTAssertEqual(followUp.pushed, 1)
        XCTAssertEqual(scheduler.requests.count, 3, "nothing waits, so nothing more is queued")
    }

    func testAnOfficeThatRefusesTheDeviceStopsEveryRetry() async throws {
        let enrolling = try await FieldLedger.open(path: path("refused"), transport: URLSessionTransport())
        _ = try await enrolling.enroll(serverURL: officeURL, code: need("RECTIFY_CODE_CANCEL"))
        let ledger = FieldLedger(device: enrolling.device, transport: Refusing())
        let scheduler = FakeScheduler()
        scheduler.request(SyncRequest(reason: .localChange, delay: 5))
        let records = InMemorySyncRecords()
        let sync = BackgroundSync(ledger: ledger, scheduler: scheduler, records: records)
        guard case .giveUp(let error, let needsEnrollment) = try await sync.run(settings: quick) else {
            return XCTFail("expected to give up")
        }
        XCTAssertTrue(needsEnrollment && error.needsEnrollment)
        XCTAssertTrue(error.reason.contains("enroll it again"), error.reason)
        XCTAssertEqual(records.load().lastError, error.reason)
        XCTAssertEqual(scheduler.cancelled, 1)
        XCTAssertTrue(scheduler.requests.isEmpty)
        sync.enrolled()
        XCTAssertFalse(records.load().needsEnrollment)
        XCTAssertEqual(scheduler.requests.last?.reason, .requested)
    }

    func testCancellingTheTaskStopsTheSyncInsideItsBackoff() async throws {
        let enrolling = try await FieldLedger.open(path: path("cancel"), transport: URLSessionTransport())
        _ = try await enrolling.enroll(serverURL: officeURL, code: need("RECTIFY_CODE_THREADS"))
        _ = try await enrolling.sync(settings: quick)
        let transport = Switchable(URLSessionTransport())
        transport.set(online: false)
        let ledger = FieldLedger(device: enrolling.device, transport: transport)
        _ = try await ledger.report(here("a pile of bricks"))
        let patient = SyncSettings(fullPhotos: false, maxAttempts: 50, firstRetryMs: 2000)
        let running = Task { try await ledger.sync(settings: patient) }
        try await Task.sleep(nanoseconds: 300_000_000)
        let started = Date()
        running.cancel()
        do {
            _ = try await running.value
            XCTFail("a cancelled sync must throw")
        } catch is CancellationError {
            XCTAssertLessThan(Date().timeIntervalSince(started), 2, "stopped inside the 2 s backoff")
        }
        let outbox = try await ledger.outbox()
        XCTAssertEqual(outbox.pendingEvents, 1, "the report waits for the next sync")
    }

    func testAPhoneEnrollsFromTheLinkInTheOfficesQrCode() async throws {
        let link = try XCTUnwrap(EnrollmentLink(need("RECTIFY_ENROLL_LINK")))
        XCTAssertEqual(link.server, officeURL)
        let ledger = try await FieldLedger.open(path: path("from-link"), transport: URLSessionTransport())
        let profile = try await ledger.enroll(link)
        XCTAssertEqual(profile.userName, "Zheng Inspector")
        for notOne in ["https://example.org/enroll?code=A", "rectify://enroll?code=ABC",
                       "rectify://enroll?server=ftp%3A%2F%2Fx&code=A", "not a link at all"] {
            XCTAssertNil(EnrollmentLink(notOne), notOne)
        }
    }

    func testRetryDelaysDoubleToTheCapAndTooLittleSpaceIsRefused() throws {
        let policy = RetryPolicy(firstDelay: 30, maxDelay: 600)
        XCTAssertEqual((1...7).map { policy.delay(afterFailures: $0) }, [30, 60, 120, 240, 480, 600, 600])
        XCTAssertEqual(policy.delay(afterFailures: 10_000), 600)
        XCTAssertThrowsError(try DiskSpace.ensureRoom(at: work, needed: Int64.max)) { error in
            XCTAssertTrue(error is LowStorageError, "\(error)")
        }
        XCTAssertNoThrow(try DiskSpace.ensureRoom(at: work, needed: 1))
        let broken = work.appendingPathComponent("broken.json")
        try Data("{not json".utf8).write(to: broken)
        XCTAssertEqual(FileSyncRecords(file: broken).load(), SyncRecord())
    }
}
