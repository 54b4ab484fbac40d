import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The core's sync HTTP carried by URLSession, so syncs use the system's proxy, TLS and cellular rules.
///
/// The core calls `send` on its own thread and waits for the answer, so this blocks that thread (never the
/// main one) on a data task. Photo chunks (`PATCH /v1/photos/…`) go through `photoUploads` when one is
/// given: on iOS, a background session that carries on while the app is suspended.
public final class URLSessionTransport: SyncTransport, @unchecked Sendable {
    private let session: URLSession
    private let photoUploads: PhotoUploadSession?
    private let timeout: TimeInterval

    public init(session: URLSession = URLSession(configuration: .default),
                photoUploads: PhotoUploadSession? = nil,
                timeout: TimeInterval = 60) {
        self.session = session
        self.photoUploads = photoUploads
        self.timeout = timeout
    }

    public func send(request: HttpRequest) throws -> HttpResponse {
        let asked = try urlRequest(for: request, timeout: timeout)
        if let uploads = photoUploads, request.method == "PATCH", request.path.hasPrefix("/v1/photos/") {
            let (response, data) = try uploads.upload(asked, body: request.body)
            return answer(response, data)
        }
        final class Outcome: @unchecked Sendable {
            var data: Data?
            var response: URLResponse?
            var error: Error?
        }
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        var withBody = asked
        if !request.body.isEmpty { withBody.httpBody = request.body }
        session.dataTask(with: withBody) { data, response, error in
            (outcome.data, outcome.response, outcome.error) = (data, response, error)
            done.signal()
        }.resume()
        done.wait()
        if let error = outcome.error { throw transportError(error) }
        guard let http = outcome.response as? HTTPURLResponse else {
            throw TransportError.Broken(reason: "the answer was not HTTP")
        }
        return answer(http, outcome.data ?? Data())
    }
}

/// The URLRequest for one of the core's requests (without its body).
func urlRequest(for request: HttpRequest, timeout: TimeInterval) throws -> URLRequest {
    guard let target = URL(string: request.url) else {
        throw TransportError.Unreachable(reason: "not a URL: \(request.url)")
    }
    var asked = URLRequest(url: target, timeoutInterval: timeout)
    asked.httpMethod = request.method
    // URLSession sets the length itself.
    for header in request.headers where header.name.lowercased() != "content-length" {
        asked.setValue(header.value, forHTTPHeaderField: header.name)
    }
    return asked
}

/// The core's response for URLSession's. URLSession inflates gzip bodies itself but keeps the header that
/// says they are compressed, so that header (and the length of the compressed body) is dropped.
func answer(_ http: HTTPURLResponse, _ data: Data) -> HttpResponse {
    let headers = http.allHeaderFields
        .map { HttpHeader(name: "\($0.key)".lowercased(), value: "\($0.value)") }
        .filter { $0.name != "content-encoding" && $0.name != "content-length" }
    return HttpResponse(status: UInt16(clamping: http.statusCode), headers: headers, body: data)
}

/// The core's transport error for a URLSession failure.
func transportError(_ error: Error) -> TransportError {
    guard let error = error as? URLError else { return .Broken(reason: "\(error)") }
    switch error.code {
    case .timedOut:
        return .TimedOut
    case .cannotConnectToHost, .cannotFindHost, .notConnectedToInternet, .dnsLookupFailed,
         .internationalRoamingOff, .dataNotAllowed, .callIsActive:
        return .Unreachable(reason: error.localizedDescription)
    default:
        return .Broken(reason: error.localizedDescription)
    }
}
