import Foundation
import RectifyKit

/// Numbers, times and the core's names as people read them, in the interface's language.
enum Format {
    static func relative(_ date: Date, to now: Date = Date()) -> String {
        let formatter = RelativeDateTimeFormatter()
        formatter.unitsStyle = .full
        return formatter.localizedString(for: min(date, now), relativeTo: now)
    }

    /// A wait such as "2 h 5 min".
    static func duration(_ seconds: TimeInterval) -> String {
        let formatter = DateComponentsFormatter()
        formatter.unitsStyle = .abbreviated
        formatter.maximumUnitCount = 2
        formatter.allowedUnits = seconds < 60 ? [.second] : [.day, .hour, .minute]
        return formatter.string(from: max(0, seconds)) ?? ""
    }

    static func day(_ date: Date) -> String { date.formatted(date: .abbreviated, time: .omitted) }

    static func dateTime(_ date: Date) -> String { date.formatted(date: .abbreviated, time: .shortened) }

    static func metres(_ value: Double) -> String {
        let whole = value.isFinite ? Int(value.rounded()) : 0
        return String(localized: "unit.metres \(whole)")
    }

    /// The rectification rate, a percentage to one decimal as the bulletins print it.
    static func rate(_ percent: Double?) -> String {
        guard let percent else { return "—" }
        return percent.formatted(.number.precision(.fractionLength(1))) + "%"
    }

    static func bytes(_ count: UInt64) -> String {
        ByteCountFormatter.string(fromByteCount: Int64(clamping: count), countStyle: .file)
    }

    static func count(_ value: UInt64) -> Int { Int(clamping: value) }
}

extension IssueStatus {
    var label: String {
        switch self {
        case .reported: return String(localized: "status.reported")
        case .assigned: return String(localized: "status.assigned")
        case .strikeOffRequested: return String(localized: "status.strikeOffRequested")
        case .rejected: return String(localized: "status.rejected")
        case .accepted: return String(localized: "status.accepted")
        case .withdrawn: return String(localized: "status.withdrawn")
        }
    }

    /// A secretary may strike it off: it is open, and not already waiting for acceptance.
    var canStrikeOff: Bool {
        switch self {
        case .reported, .assigned, .rejected: return true
        case .strikeOffRequested, .accepted, .withdrawn: return false
        }
    }
}

extension Role {
    var label: String {
        switch self {
        case .inspector: return String(localized: "role.inspector")
        case .secretary: return String(localized: "role.secretary")
        case .acceptor: return String(localized: "role.acceptor")
        case .admin: return String(localized: "role.admin")
        }
    }

    var decidesAcceptance: Bool { self == .acceptor || self == .admin }
}

extension SyncPhase {
    var label: String {
        switch self {
        case .starting: return String(localized: "phase.starting")
        case .hello: return String(localized: "phase.hello")
        case .reference: return String(localized: "phase.reference")
        case .push: return String(localized: "phase.push")
        case .photosUp: return String(localized: "phase.photosUp")
        case .pull: return String(localized: "phase.pull")
        case .photosDown: return String(localized: "phase.photosDown")
        case .done: return String(localized: "phase.done")
        }
    }
}

/// Names of the events in an issue's history (`HistoryEntry.kind`).
enum HistoryKind {
    static func label(_ kind: String) -> String {
        switch kind {
        case "reported": return String(localized: "history.reported")
        case "photo_attached": return String(localized: "history.photoAttached")
        case "edited": return String(localized: "history.edited")
        case "assigned": return String(localized: "history.assigned")
        case "strike_off_requested": return String(localized: "history.strikeOffRequested")
        case "accepted": return String(localized: "history.accepted")
        case "rejected": return String(localized: "history.rejected")
        case "reopened": return String(localized: "history.reopened")
        case "withdrawn": return String(localized: "history.withdrawn")
        case "comment": return String(localized: "history.comment")
        default: return kind
        }
    }
}

/// Names of the reasons to doubt a photo (`IssueDetail.evidenceFlags`, `EvidenceWarning.name`).
enum EvidenceFlag {
    static func label(_ name: String) -> String {
        switch name {
        case "no_gps": return String(localized: "evidence.noGps")
        case "implausible_gps": return String(localized: "evidence.implausibleGps")
        case "no_capture_time": return String(localized: "evidence.noCaptureTime")
        case "far_from_issue": return String(localized: "evidence.farFromIssue")
        case "taken_before_report": return String(localized: "evidence.takenBeforeReport")
        case "reused": return String(localized: "evidence.reused")
        default: return name
        }
    }
}
