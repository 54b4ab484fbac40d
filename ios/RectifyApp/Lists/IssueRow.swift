import RectifyKit
import SwiftUI

/// One issue in a list: its type (Chinese first), status, deadline, note, and whether the office has it yet.
/// Overdue issues are red.
struct IssueRow: View {
    let issue: IssueSummary
    let catalogue: Catalogue
    var showVillage = false

    var body: some View {
        HStack(alignment: .top, spacing: 10) {
            VStack(alignment: .leading, spacing: 4) {
                Text(verbatim: catalogue.title(issue.category))
                    .font(.headline)
                    .foregroundStyle(issue.overdue ? Color.red : Color.primary)
                if let english = catalogue.subtitle(issue.category) {
                    Text(verbatim: english).font(.caption).foregroundStyle(.secondary)
                }
                if showVillage {
                    Text(verbatim: issue.villageName).font(.subheadline)
                }
                HStack(spacing: 8) {
                    StatusBadge(status: issue.status)
                    if issue.overdue {
                        Text("issue.overdueSince \(Format.day(issue.deadline))")
                            .font(.caption.weight(.semibold))
                            .foregroundStyle(.red)
                    } else {
                        Text("issue.due \(Format.day(issue.deadline))")
                            .font(.caption)
                            .foregroundStyle(.secondary)
                    }
                }
                if let note = issue.note, !note.isEmpty {
                    Text(verbatim: note).font(.footnote).foregroundStyle(.secondary).lineLimit(1)
                }
            }
            Spacer(minLength: 4)
            SyncBadge(unsynced: Int(issue.unsyncedEvents), refused: Int(issue.refusedEvents))
        }
        .frame(minHeight: 60)
        .padding(.vertical, 4)
    }
}

extension View {
    /// Tints an overdue issue's whole row red (apply to the row itself, e.g. the NavigationLink).
    func overdueRowBackground(_ issue: IssueSummary) -> some View {
        listRowBackground(issue.overdue ? Color.red.opacity(0.1) : nil)
    }
}

struct StatusBadge: View {
    let status: IssueStatus

    var body: some View {
        Text(verbatim: status.label)
            .font(.caption.weight(.semibold))
            .padding(.horizontal, 8)
            .padding(.vertical, 2)
            .background(Capsule().fill(tint.opacity(0.18)))
            .foregroundStyle(tint)
    }

    private var tint: Color {
        switch status {
        case .reported, .assigned: return .blue
        case .strikeOffRequested: return .purple
        case .rejected: return .orange
        case .accepted: return .green
        case .withdrawn: return .gray
        }
    }
}

/// Whether the office has an issue's latest changes: pending (still on this phone) or refused by the office.
struct SyncBadge: View {
    let unsynced: Int
    let refused: Int

    var body: some View {
        if refused > 0 {
            badge(Text("sync.badge.refused \(refused)"), systemImage: "exclamationmark.icloud.fill", tint: .red)
        } else if unsynced > 0 {
            badge(Text("sync.badge.pending \(unsynced)"), systemImage: "icloud.and.arrow.up", tint: .orange)
        } else {
            Image(systemName: "checkmark.icloud")
                .foregroundStyle(.secondary)
                .accessibilityLabel(Text("sync.badge.synced"))
        }
    }

    private func badge(_ text: Text, systemImage: String, tint: Color) -> some View {
        Label { text } icon: { Image(systemName: systemImage) }
            .font(.caption.weight(.semibold))
            .padding(.horizontal, 8)
            .padding(.vertical, 4)
            .background(Capsule().fill(tint.opacity(0.15)))
            .foregroundStyle(tint)
    }
}
