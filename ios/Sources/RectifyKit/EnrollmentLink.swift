import Foundation

/// What an enrollment QR code (or a tapped link) carries: `rectify://enroll?server=<office URL>&code=<code>`,
/// as `rectify-office enroll --server URL` prints it.
public struct EnrollmentLink: Equatable, Sendable {
    public let server: String
    public let code: String

    public init(server: String, code: String) {
        self.server = server
        self.code = code
    }

    /// The link in `text`, or nil when it is not one (a QR code from something else).
    public init?(_ text: String) {
        guard let parts = URLComponents(string: text.trimmingCharacters(in: .whitespacesAndNewlines)),
              parts.scheme?.lowercased() == "rectify", parts.host == "enroll",
              let items = parts.queryItems
        else { return nil }
        let server = items.first { $0.name == "server" }?.value?.trimmingCharacters(in: .whitespaces) ?? ""
        let code = items.first { $0.name == "code" }?.value?.trimmingCharacters(in: .whitespaces) ?? ""
        guard server.hasPrefix("http://") || server.hasPrefix("https://"), !code.isEmpty else { return nil }
        self.init(server: server, code: code)
    }
}

extension FieldLedger {
    /// Enrolls with what an enrollment QR code carries.
    public func enroll(_ link: EnrollmentLink) async throws -> Profile {
        try await enroll(serverURL: link.server, code: link.code)
    }
}
