import Foundation
import RectifyKit

/// An office address and a one-time code, from `rectify://enroll?server=<url>&code=<code>` (a tapped link or
/// the office's QR code) or from a QR code that holds the code alone.
struct EnrollmentInvitation: Equatable, Identifiable {
    let server: String?
    let code: String

    var id: String { (server ?? "") + "|" + code }

    init?(url: URL) {
        guard let link = EnrollmentLink(url.absoluteString) else { return nil }
        server = link.server
        code = link.code
    }

    /// What a QR code said: an enrollment link, or a bare code (letters, digits and dashes).
    init?(scanned text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if let url = URL(string: trimmed), let link = EnrollmentInvitation(url: url) {
            self = link
            return
        }
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_"))
        guard (4...64).contains(trimmed.count), trimmed.unicodeScalars.allSatisfy(allowed.contains) else { return nil }
        server = nil
        code = trimmed
    }
}
