import Combine
import Foundation
import RectifyKit

/// Enrolling this phone with the district office: its address and a one-time code, typed or scanned.
@MainActor
final class EnrollmentViewModel: ObservableObject {
    @Published var server = ""
    @Published var code = ""
    @Published private(set) var enrolling = false
    @Published var problem: Problem?

    private let services: AppServices
    private let app: AppModel

    init(services: AppServices, app: AppModel, link: EnrollmentInvitation?) {
        self.services = services
        self.app = app
        if let link { apply(link) }
    }

    func apply(_ link: EnrollmentInvitation) {
        if let server = link.server { self.server = server }
        code = link.code
    }

    private var trimmedServer: String { server.trimmingCharacters(in: .whitespacesAndNewlines) }
    private var trimmedCode: String { code.trimmingCharacters(in: .whitespacesAndNewlines) }

    /// An http(s) address with a host; the core checks the rest.
    var serverLooksValid: Bool {
        guard let components = URLComponents(string: trimmedServer),
              let scheme = components.scheme?.lowercased() else { return false }
        return (scheme == "https" || scheme == "http") && components.host?.isEmpty == false
    }

    var canEnroll: Bool { !enrolling && serverLooksValid && !trimmedCode.isEmpty }

    /// Enrolls, then tells background sync to start over. Answers whether it worked.
    func enroll() async -> Bool {
        guard canEnroll else { return false }
        enrolling = true
        defer { enrolling = false }
        do {
            let profile = try await services.ledger.enroll(serverURL: trimmedServer, code: trimmedCode)
            app.didEnroll(profile, services: services)
            return true
        } catch {
            problem = Self.problem(for: error)
            return false
        }
    }

    /// Enrollment's own wording for the usual failures: no network, or a code the office refused.
    private static func problem(for error: Error) -> Problem? {
        guard let error = error as? RectifyError else { return Problem(error) }
        switch error {
        case .Sync(let reason):
            return Problem(title: String(localized: "enroll.error.network.title"),
                           message: String(localized: "enroll.error.network.message"), detail: reason)
        case .InvalidInput(let reason), .NotPermitted(let reason), .NotFound(let reason):
            return Problem(title: String(localized: "enroll.error.code.title"),
                           message: String(localized: "enroll.error.code.message"), detail: reason)
        default:
            return Problem(error)
        }
    }
}
