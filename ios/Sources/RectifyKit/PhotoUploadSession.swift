import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Photo chunks sent as upload tasks from files, through a session with a delegate.
///
/// On iOS, `PhotoUploadSession.background(identifier:)` makes it a background session: once a chunk's
/// upload task starts, the system finishes it even if the app is suspended or killed, and wakes the app
/// when it is done. The core does not need to know: its next sync asks the office how much of the photo
/// arrived (`HEAD`) and goes on from there, so a chunk that completed while the app slept is never sent
/// twice, and one that did not is sent again.
///
/// Upload tasks need their body in a file, so each chunk is spooled to `spool` first and deleted after.
public final class PhotoUploadSession: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private let spool: URL
    private let timeout: TimeInterval
    private let lock = NSLock()
    private var pending: [Int: Waiting] = [:]
    private var session: URLSession!
    private var uploadCount = 0

    /// Set by the app delegate (on the main thread) from
    /// `application(_:handleEventsForBackgroundURLSession:completionHandler:)`; called once the session has
    /// delivered every event, or at once if it already had before the app delegate got the handler.
    public var backgroundEventsDone: (() -> Void)? {
        didSet {
            guard eventsAlreadyDelivered, let done = backgroundEventsDone else { return }
            eventsAlreadyDelivered = false
            backgroundEventsDone = nil
            done()
        }
    }

    /// The session said it delivered every event before the app delegate handed over its handler.
    /// Main thread only, like `backgroundEventsDone`.
    private var eventsAlreadyDelivered = false

    private final class Waiting {
        let done = DispatchSemaphore(value: 0)
        var data = Data()
        var response: URLResponse?
        var error: Error?
    }

    /// A session with `configuration` (`.ephemeral` in tests, `.background` on a phone).
    public init(configuration: URLSessionConfiguration, spool: URL, timeout: TimeInterval = 120) {
        self.spool = spool
        self.timeout = timeout
        super.init()
        session = URLSession(configuration: configuration, delegate: self, delegateQueue: nil)
    }

    #if os(iOS)
    /// The background session the app uses. `identifier` must stay the same across launches, so the system
    /// can hand the app the events of uploads that finished while it was not running.
    public static func background(identifier: String, spool: URL) -> PhotoUploadSession {
        let configuration = URLSessionConfiguration.background(withIdentifier: identifier)
        configuration.isDiscretionary = false
        configuration.sessionSendsLaunchEvents = true
        configuration.allowsCellularAccess = true
        return PhotoUploadSession(configuration: configuration, spool: spool)
    }
    #endif

    /// How many chunks went through this session.
    public var uploads: Int {
        lock.lock()
        defer { lock.unlock() }
        return uploadCount
    }

    /// Uploads `body` as `request`'s body and waits for the answer.
    func upload(_ request: URLRequest, body: Data) throws -> (HTTPURLResponse, Data) {
        try FileManager.default.createDirectory(at: spool, withIntermediateDirectories: true)
        let file = spool.appendingPathComponent("chunk-\(UUID().uuidString)")
        do {
            try body.write(to: file, options: .atomic)
        } catch {
            // The disk is full or the folder is gone: no answer came, so the sync retries later.
            throw TransportError.Broken(reason: "could not spool the photo chunk: \(error.localizedDescription)")
        }
        defer { try? FileManager.default.removeItem(at: file) }
        let task = session.uploadTask(with: request, fromFile: file)
        let entry = Waiting()
        lock.lock()
        pending[task.taskIdentifier] = entry
        uploadCount += 1
        lock.unlock()
        task.resume()
        if entry.done.wait(timeout: .now() + timeout) == .timedOut {
            // The task goes on (in a background session, the system keeps it); the core asks for the
            // offset before sending more, so nothing is sent twice.
            lock.lock()
            pending[task.taskIdentifier] = nil
            lock.unlock()
            throw TransportError.TimedOut
        }
        if let error = entry.error { throw transportError(error) }
        guard let http = entry.response as? HTTPURLResponse else {
            throw TransportError.Broken(reason: "the upload's answer was not HTTP")
        }
        return (http, entry.data)
    }

    private func entry(for task: URLSessionTask) -> Waiting? {
        lock.lock()
        defer { lock.unlock() }
        return pending[task.taskIdentifier]
    }

    public func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        entry(for: dataTask)?.data.append(data)
    }

    public func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        lock.lock()
        let entry = pending.removeValue(forKey: task.taskIdentifier)
        lock.unlock()
        guard let entry else { return }  // finished after we stopped waiting, or in an earlier launch
        entry.response = task.response
        entry.error = error
        entry.done.signal()
    }

    #if os(iOS)
    public func urlSessionDidFinishEvents(forBackgroundURLSession session: URLSession) {
        DispatchQueue.main.async { [weak self] in
            guard let self else { return }
            if let done = self.backgroundEventsDone {
                self.backgroundEventsDone = nil
                done()
            } else {
                self.eventsAlreadyDelivered = true
            }
        }
    }
    #endif
}
