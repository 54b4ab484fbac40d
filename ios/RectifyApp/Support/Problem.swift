import Foundation
import RectifyKit

/// An error as a person reads it: a title and what to do in their language, and the core's own sentence
/// (in English) as the detail for whoever supports them.
struct Problem: Identifiable, Equatable {
    let id = UUID()
    let title: String
    let message: String
    let detail: String?
    /// The phone's storage is full: the screens say so plainly and keep nothing half-recorded.
    let storageFull: Bool

    init(title: String, message: String, detail: String? = nil, storageFull: Bool = false) {
        self.title = title
        self.message = message
        self.detail = detail
        self.storageFull = storageFull
    }

    /// nil for a cancellation, which is the person's own choice and nothing to report.
    init?(_ error: Error) {
        if error is CancellationError { return nil }
        if let low = error as? LowStorageError {
            self = .storageFull(detail: low.errorDescription)
            return
        }
        if let error = error as? RectifyError {
            switch error {
            case .Storage(let reason):
                self = .storageFull(detail: reason)
            case .InvalidInput(let reason):
                self = Problem(title: String(localized: "problem.invalid.title"),
                               message: String(localized: "problem.invalid.message"), detail: reason)
            case .NotFound(let reason):
                self = Problem(title: String(localized: "problem.notFound.title"),
                               message: String(localized: "problem.notFound.message"), detail: reason)
            case .NotPermitted(let reason):
                self = Problem(title: String(localized: "problem.notPermitted.title"),
                               message: String(localized: "problem.notPermitted.message"), detail: reason)
            case .IllegalTransition(let reason):
                self = Problem(title: String(localized: "problem.transition.title"),
                               message: String(localized: "problem.transition.message"), detail: reason)
            case .NotInitialised(let reason):
                self = Problem(title: String(localized: "problem.notEnrolled.title"),
                               message: String(localized: "problem.notEnrolled.message"), detail: reason)
            case .IncompatibleDatabase(let reason):
                self = Problem(title: String(localized: "problem.incompatible.title"),
                               message: String(localized: "problem.incompatible.message"), detail: reason)
            case .Sync(let reason):
                self = Problem(title: String(localized: "problem.sync.title"),
                               message: String(localized: "problem.sync.message"), detail: reason)
            case .Interrupted(let reason):
                self = Problem(title: String(localized: "problem.interrupted.title"),
                               message: String(localized: "problem.interrupted.message"), detail: reason)
            }
            return
        }
        if let photo = error as? PhotoFileError {
            self = Problem(title: String(localized: "problem.photo.title"), message: photo.message)
            return
        }
        self = .unexpected(error)
    }

    static func storageFull(detail: String?) -> Problem {
        Problem(title: String(localized: "problem.storageFull.title"),
                message: String(localized: "problem.storageFull.message"),
                detail: detail, storageFull: true)
    }

    static func unexpected(_ error: Error) -> Problem {
        Problem(title: String(localized: "problem.unexpected.title"),
                message: String(localized: "problem.unexpected.message"),
                detail: error.localizedDescription)
    }

    static func == (lhs: Problem, rhs: Problem) -> Bool { lhs.id == rhs.id }
}
