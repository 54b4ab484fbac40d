// Rectify through its Swift bindings, as the iOS app uses them: a whole field story against a real office
// on loopback, errors as thrown Swift errors, progress callbacks, a transport written in Swift on
// URLSession, cancellation, and many Swift tasks calling one device at once.
//
// Run by scripts/test-bindings.sh with `swift test` inside a Debian trixie chroot; the fixture's office
// address, codes and photos arrive in the environment.

import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import XCTest
@testable import Rectify

private let env = ProcessInfo.processInfo.environment
private let work: URL = {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rectify-swift-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}()
private func need(_ name: String) -> String {
    guard let value = env[name] else { fatalError("\(name) is not set: run through scripts/test-bindings.sh") }
    return value
}
private let url = need("RECTIFY_OFFICE_URL")
private let village = need("RECTIFY_VILLAGE")
private let lat = Double(need("RECTIFY_LAT"))!
private let lon = Double(need("RECTIFY_LON"))!
private let before = need("RECTIFY_PHOTO_BEFORE")
private let after = need("RECTIFY_PHOTO_AFTER")
private let third = need("RECTIFY_PHOTO_THIRD")
private let category = "village.scattered_garbage"
private let fast = SyncSettings(fullPhotos: false, maxAttempts: 5, firstRetryMs: 20)

private func db(_ name: String) -> String { work.appendingPathComponent("\(name).db").path }

private func enrolled(_ name: String, _ codeVar: String) throws -> Device {
    let device = try Device.open(path: db(name))
    _ = try device.enroll(serverUrl: url, code: need(codeVar))
    _ = try device.sync(settings: fast)
    return device
}

/// The sync's HTTP carried by URLSession, counting what it sends.
final class SessionTransport: SyncTransport, @unchecked Sendable {
    private let session = URLSession(configuration: .ephemeral)
    private let lock = NSLock()
    private(set) var requests = 0
    private(set) var methods = Set<String>()

    func send(request: HttpRequest) throws -> HttpResponse {
        lock.lock()
        requests += 1
        methods.insert(request.method)
        lock.unlock()
        guard let target = URL(string: request.url) else {
            throw TransportError.Unreachable(reason: "not a URL: \(request.url)")
        }
        var asked = URLRequest(url: target, timeoutInterval: 30)
        asked.httpMethod = request.method
        for header in request.headers where header.name != "content-length" {
            asked.setValue(header.value, forHTTPHeaderField: header.name)
        }
        if !request.body.isEmpty { asked.httpBody = request.body }
        // The protocol is synchronous: wait for the data task on this (the sync's) thread.
        final class Answer: @unchecked Sendable {
            var data: Data?
            var response: URLResponse?
            var error: Error?
        }
        let answer = Answer()
        let done = DispatchSemaphore(value: 0)
        session.dataTask(with: asked) { data, response, error in
            (answer.data, answer.response, answer.error) = (data, response, error)
            done.signal()
        }.resume()
        done.wait()
        if let error = answer.error as? URLError {
            switch error.code {
            case .timedOut: throw TransportError.TimedOut
            case .cannotConnectToHost, .cannotFindHost, .notConnectedToInternet:
                throw TransportError.Unreachable(reason: error.localizedDescription)
            default: throw TransportError.Broken(reason: error.localizedDescription)
            }
        }
        if let error = answer.error { throw TransportError.Broken(reason: "\(error)") }
        guard let http = answer.response as? HTTPURLResponse else {
            throw TransportError.Broken(reason: "no HTTP answer")
        }
        // URLSession inflates gzip bodies itself but keeps the header that says they are compressed.
        let headers = http.allHeaderFields
            .map { HttpHeader(name: "\($0.key)".lowercased(), value: "\($0.value)") }
            .filter { $0.name != "content-encoding" && $0.name != "content-length" }
        return HttpResponse(status: UInt16(http.statusCode), headers: headers, body: answer.data ?? Data())
    }
}

final class Progress: SyncListener, @unchecked Sendable {
    private let lock = NSLock()
    private var seenSoFar: [SyncProgress] = []
    var seen: [SyncProgress] { lock.lock(); defer { lock.unlock() }; return seenSoFar }

    func onProgress(progress: SyncProgress) {
        lock.lock()
        seenSoFar.append(progress)
        lock.unlock()
    }
}

/// Always fails, as a phone with no signal does.
final class NoSignal: SyncTransport, @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var calls: Int { lock.lock(); defer { lock.unlock() }; return count }

    func send(request: HttpRequest) throws -> HttpResponse {
        lock.lock()
        count += 1
        lock.unlock()
        throw TransportError.Unreachable(reason: "no signal in the fields")
    }
}

/// Asserts that `work` throws the RectifyError `expected` names (by case), returning its reason.
@discardableResult
private func expectError(_ expected: String, _ work: () throws -> Void, line: UInt = #line) -> String {
    do {
        try work()
        XCTFail("expected RectifyError.\(expected)", line: line)
        return ""
    } catch let error as RectifyError {
        let name = "\(error)".split(separator: "(").first.map(String.init) ?? ""
        XCTAssertEqual(name, expected, "\(error)", line: line)
        return error.localizedDescription
    } catch {
        XCTFail("expected RectifyError.\(expected), got \(error)", line: line)
        return ""
    }
}

// XCTest runs a class's tests in name order; the field story must run first, because every inspector's
// scope is the whole district and later tests' reports would appear in its lists.
final class RectifyTests: XCTestCase {
    func test1FieldStory() throws {
        let inspector = try enrolled("inspector", "RECTIFY_CODE_INSPECTOR")
        XCTAssertEqual(try inspector.profile().role, .inspector)
        XCTAssertEqual(try inspector.locate(lat: lat, lon: lon)?.villageCode, village)

        let issue = try inspector.report(issue: NewIssue(
            category: category, at: Fix(lat: lat, lon: lon, accuracyM: 5), photoPaths: [before],
            note: "garbage by the pond"))
        XCTAssertEqual(issue.status, .reported)
        XCTAssertLessThan(abs(issue.reportedAt.timeIntervalSinceNow), 60, "the timestamp is a Date")
        XCTAssertEqual(try inspector.list().map(\.id), [issue.id])

        let progress = Progress()
        let summary = try inspector.sync(listener: progress, settings: fast)
        XCTAssertEqual(summary.pushed, 1)
        XCTAssertEqual(summary.photosUp, 1)
        XCTAssertFalse(progress.seen.isEmpty, "no progress callback arrived")
        XCTAssertEqual(progress.seen.last?.phase, .done)

        let secretary = try enrolled("secretary", "RECTIFY_CODE_SECRETARY")
        let list = try secretary.negativeList(villageCode: village)
        XCTAssertEqual(list.remaining, 1)
        XCTAssertEqual(list.items.map(\.id), [issue.id])
        let struck = try secretary.strikeOff(issueId: issue.id, photoPaths: [after], note: "cleared and swept")
        XCTAssertEqual(struck.status, .strikeOffRequested)
        _ = try secretary.sync(settings: fast)

        let acceptor = try enrolled("acceptor", "RECTIFY_CODE_ACCEPTOR")
        XCTAssertEqual(try acceptor.accept(issueId: issue.id, note: "checked on site").status, .accepted)
        _ = try acceptor.sync(settings: fast)

        _ = try inspector.sync(settings: fast)
        let detail = try inspector.issue(issueId: issue.id)
        XCTAssertEqual(detail.issue.status, .accepted)
        XCTAssertEqual(detail.history.map(\.kind), ["reported", "strike_off_requested", "accepted"])
        XCTAssertTrue(detail.history.allSatisfy { $0.officeSeq != nil })
        XCTAssertEqual(Set(detail.photos.map(\.role)), [.before, .after])
        // This phone took the before-photo: its evidence file and thumbnail are on disk where the detail says.
        let own = detail.photos.first { $0.role == .before }
        XCTAssertTrue(FileManager.default.fileExists(atPath: own?.path ?? ""), "\(String(describing: own))")
        XCTAssertTrue(FileManager.default.fileExists(atPath: own?.thumbnailPath ?? ""))
        let done = try inspector.negativeList(villageCode: village)
        XCTAssertEqual(done.rectified, 1)
        XCTAssertEqual(done.rectificationRate, 100.0)

        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = TimeZone(secondsFromGMT: 8 * 3600)!
        let parts = calendar.dateComponents([.yearForWeekOfYear, .weekOfYear], from: Date())
        let week = String(format: "%04d-W%02d", parts.yearForWeekOfYear!, parts.weekOfYear!)
        XCTAssertEqual(try inspector.bulletin(week: week).total.totalAccepted, 1)
    }

    func test2ErrorsAreThrown() throws {
        let device = try Device.open(path: db("errors"),
                                     setup: ProfileSetup(userName: "Test Inspector", role: .inspector, villageCodes: []))
        let reason = expectError("InvalidInput") {
            _ = try device.report(issue: NewIssue(category: "no.such_problem", at: Fix(lat: lat, lon: lon),
                                                  villageCode: village))
        }
        XCTAssertFalse(reason.isEmpty)
        expectError("InvalidInput") { _ = try device.issue(issueId: "not-an-id") }
        expectError("NotFound") { _ = try device.issue(issueId: "0190a0b0-0000-7000-8000-000000000000") }
        expectError("InvalidInput") { _ = try device.ingestPhoto(path: work.appendingPathComponent("missing.jpg").path) }
        expectError("NotInitialised") { _ = try device.sync() }
        let notDb = work.appendingPathComponent("not-a-ledger.db")
        try String(repeating: "plain text, not SQLite\n", count: 100).write(to: notDb, atomically: true, encoding: .utf8)
        expectError("IncompatibleDatabase") { _ = try Device.open(path: notDb.path) }
    }

    func test3TransportWrittenInSwift() throws {
        let transport = SessionTransport()
        let device = try Device.open(path: db("host-transport"))
        _ = try device.enroll(serverUrl: url, code: need("RECTIFY_CODE_HOST_TRANSPORT"), transport: transport)
        _ = try device.sync(transport: transport, settings: fast)
        XCTAssertEqual(try device.locate(lat: lat, lon: lon)?.villageCode, village, "the villages did not come through")
        _ = try device.report(issue: NewIssue(category: category, at: Fix(lat: lat + 1e-5, lon: lon),
                                              photoPaths: [third], note: "through URLSession"))
        let summary = try device.sync(transport: transport, settings: fast)
        XCTAssertEqual(summary.pushed, 1)
        XCTAssertEqual(summary.photosUp, 1)
        XCTAssertTrue(transport.methods.isSuperset(of: ["GET", "POST", "PATCH"]), "\(transport.methods)")
        XCTAssertEqual(try device.outbox().unconfirmedPhotoBytes, 0)
    }

    func test4FailingTransportAndCancel() throws {
        let device = try Device.open(path: db("cancel"))
        _ = try device.enroll(serverUrl: url, code: need("RECTIFY_CODE_CANCEL"))
        let down = NoSignal()
        let reason = expectError("Sync") {
            _ = try device.sync(transport: down, settings: SyncSettings(fullPhotos: false, maxAttempts: 3, firstRetryMs: 1))
        }
        XCTAssertEqual(down.calls, 3)
        XCTAssertTrue(reason.contains("no signal"), reason)

        // Uncancelled, this job fails with Sync after ~30 s of backoff: a broken cancel fails, not hangs.
        let job = device.syncJob(transport: NoSignal(), settings: SyncSettings(fullPhotos: false, maxAttempts: 3,
                                                                              firstRetryMs: 10_000))
        let started = Date()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { job.cancel() }
        expectError("Interrupted") { _ = try job.run() }
        XCTAssertLessThan(Date().timeIntervalSince(started), 5, "cancel waited out the backoff")
        XCTAssertTrue(job.isCancelled())
        _ = try device.sync(settings: fast)
    }

    func test5ManyTasksAtOnce() async throws {
        let device = try enrolled("threads", "RECTIFY_CODE_THREADS")
        let before = try device.list().count
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 0..<16 {
                group.addTask {
                    for k in 0..<10 {
                        _ = try device.report(issue: NewIssue(
                            category: category, at: Fix(lat: lat + Double(n) * 1e-5, lon: lon + Double(k) * 1e-5),
                            note: "task \(n)/\(k)", villageCode: village))
                        _ = try device.list()
                        _ = try device.outbox()
                    }
                }
            }
            try await group.waitForAll()
        }
        XCTAssertEqual(try device.list().count, before + 160)
    }
}
