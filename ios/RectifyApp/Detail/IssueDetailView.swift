import RectifyKit
import SwiftUI

/// Everything about one issue: the before and after photos side by side, status, deadline, village, note,
/// what the office doubts about the photos, conflicting changes, the history, and the role's actions.
struct IssueDetailView: View {
    @StateObject private var model: IssueDetailViewModel
    @State private var viewing: ViewedPhoto?
    @State private var strikingOff = false
    @State private var confirmingAccept = false
    @State private var rejecting = false

    private struct ViewedPhoto: Identifiable {
        let id = UUID()
        let path: String?
    }

    init(services: AppServices, profile: Profile, issueId: IssueId) {
        _model = StateObject(wrappedValue: IssueDetailViewModel(services: services, profile: profile, issueId: issueId))
    }

    private var catalogue: Catalogue { model.services.catalogue }

    var body: some View {
        ScrollView {
            VStack(alignment: .leading, spacing: 20) {
                if let detail = model.detail {
                    if model.savedNotice {
                        Banner(systemImage: "checkmark.circle.fill", tint: .green) {
                            Text("detail.saved").font(.headline)
                            Text("detail.saved.offline").font(.footnote)
                        }
                    }
                    photos
                    summary(detail)
                    warnings(detail)
                    conflicts(detail.issue.conflicts)
                    actions
                    history(detail.history)
                } else if let problem = model.loadProblem {
                    ProblemBanner(problem: problem)
                } else {
                    ProgressView().frame(maxWidth: .infinity, minHeight: 200)
                }
            }
            .padding()
        }
        .navigationTitle(Text(verbatim: model.detail.map { catalogue.title($0.issue.category) } ?? ""))
        .navigationBarTitleDisplayMode(.inline)
        .task { await model.follow() }
        .refreshable { await model.load() }
        .sheet(item: $viewing) { FullPhotoView(path: $0.path) }
        .fullScreenCover(isPresented: $strikingOff) {
            if let detail = model.detail {
                StrikeOffView(services: model.services, detail: detail) { recorded in
                    strikingOff = false
                    if recorded { Task { await model.struckOff() } }
                }
            }
        }
        .sheet(isPresented: $rejecting) {
            RejectSheet { reason in await model.reject(reason: reason) }
        }
        .confirmationDialog("detail.accept.confirm", isPresented: $confirmingAccept, titleVisibility: .visible) {
            Button("detail.accept") { Task { await model.accept() } }
            Button("common.cancel", role: .cancel) {}
        }
        .problemAlert($model.problem)
    }

    // MARK: Photos

    private var photos: some View {
        HStack(alignment: .top, spacing: 10) {
            photoColumn(Text("detail.before"), model.beforePhotos, empty: Text("detail.noBefore"))
            photoColumn(Text("detail.after"), model.afterPhotos, empty: Text("detail.noAfter"))
        }
    }

    private func photoColumn(_ title: Text, _ photos: [IssuePhoto], empty: Text) -> some View {
        VStack(alignment: .leading, spacing: 8) {
            title.font(.headline)
            if photos.isEmpty {
                empty
                    .font(.footnote)
                    .foregroundStyle(.secondary)
                    .frame(maxWidth: .infinity, minHeight: 120)
                    .background(RoundedRectangle(cornerRadius: 8).strokeBorder(.quaternary, style: StrokeStyle(dash: [6])))
            }
            ForEach(photos, id: \.hash) { photo in
                StoredPhotoView(path: photo.thumbnailPath ?? photo.path)
                    .clipShape(RoundedRectangle(cornerRadius: 8))
                    .contentShape(Rectangle())
                    .onTapGesture { viewing = ViewedPhoto(path: photo.path ?? photo.thumbnailPath) }
                    .accessibilityAddTraits(.isButton)
                ForEach(photo.warnings, id: \.name) { warning in
                    Label(EvidenceFlag.label(warning.name), systemImage: "exclamationmark.triangle")
                        .font(.caption)
                        .foregroundStyle(.orange)
                }
            }
        }
        .frame(maxWidth: .infinity, alignment: .top)
    }

    // MARK: Facts

    private func summary(_ detail: IssueDetail) -> some View {
        let issue = detail.issue
        return VStack(alignment: .leading, spacing: 10) {
            HStack {
                StatusBadge(status: issue.status)
                if detail.overdue {
                    Text("detail.overdue").font(.caption.weight(.bold)).foregroundStyle(.red)
                }
                Spacer()
            }
            if let english = catalogue.subtitle(issue.category) {
                Text(verbatim: english).foregroundStyle(.secondary)
            }
            fact("detail.deadline", Format.day(issue.deadline), tint: detail.overdue ? .red : .primary)
            fact("detail.village", "\(detail.villageName) (\(detail.villageCode))")
            fact("detail.round", detail.round)
            fact("detail.reported", "\(Format.dateTime(issue.reportedAt)) · \(detail.reportedByName ?? issue.reportedBy)")
            fact("detail.position", Self.place(issue.at))
            if let note = issue.note, !note.isEmpty { fact("detail.note", note) }
            if let strikeOffNote = issue.strikeOffNote, !strikeOffNote.isEmpty {
                fact("detail.strikeOffNote", strikeOffNote)
            }
            if let acceptedAt = issue.acceptedAt { fact("detail.acceptedAt", Format.dateTime(acceptedAt)) }
            if let rejection = issue.lastRejectionReason, !rejection.isEmpty {
                fact("detail.lastRejection", rejection, tint: .orange)
            }
            if issue.reworkCount > 0 {
                fact("detail.rework", "\(issue.reworkCount)")
            }
        }
    }

    private func fact(_ label: LocalizedStringKey, _ value: String, tint: Color = .primary) -> some View {
        VStack(alignment: .leading, spacing: 2) {
            Text(label).font(.caption).foregroundStyle(.secondary)
            Text(verbatim: value).foregroundStyle(tint)
        }
    }

    private static func place(_ fix: Fix) -> String {
        let coordinates = String(format: "%.6f, %.6f", fix.lat, fix.lon)
        guard let accuracy = fix.accuracyM else { return coordinates }
        return "\(coordinates) ±\(Format.metres(accuracy))"
    }

    @ViewBuilder
    private func warnings(_ detail: IssueDetail) -> some View {
        if !detail.evidenceFlags.isEmpty {
            Banner(systemImage: "exclamationmark.triangle.fill", tint: .orange) {
                Text("detail.evidence.title").font(.headline)
                ForEach(detail.evidenceFlags, id: \.self) { flag in
                    Text(verbatim: "• " + EvidenceFlag.label(flag))
                }
                let sentences = detail.photos.flatMap(\.warnings).map(\.description)
                ForEach(Array(Set(sentences)).sorted(), id: \.self) { sentence in
                    Text(verbatim: sentence).font(.footnote).foregroundStyle(.secondary)
                }
            }
        }
    }

    @ViewBuilder
    private func conflicts(_ conflicts: [IssueConflict]) -> some View {
        if !conflicts.isEmpty {
            Banner(systemImage: "arrow.triangle.branch", tint: .red) {
                Text("detail.conflicts.title").font(.headline)
                Text("detail.conflicts.explain").font(.footnote)
                ForEach(conflicts, id: \.eventId) { conflict in
                    VStack(alignment: .leading, spacing: 2) {
                        Text(verbatim: "\(HistoryKind.label(conflict.kind)) · \(conflict.author)").font(.subheadline.weight(.semibold))
                        Text(verbatim: conflict.reason).font(.footnote)
                    }
                }
            }
        }
    }

    // MARK: Actions

    @ViewBuilder
    private var actions: some View {
        if model.canStrikeOff {
            Button {
                strikingOff = true
            } label: {
                Label("detail.strikeOff", systemImage: "camera.badge.ellipsis")
            }
            .buttonStyle(.big)
            .disabled(model.working)
        }
        if model.canDecide {
            VStack(spacing: 12) {
                Button {
                    confirmingAccept = true
                } label: {
                    Label("detail.accept", systemImage: "checkmark.seal.fill")
                }
                .buttonStyle(.bigTinted(.green))
                Button {
                    rejecting = true
                } label: {
                    Label("detail.reject", systemImage: "xmark.seal.fill")
                }
                .buttonStyle(.bigTinted(.red))
            }
            .disabled(model.working)
        }
    }

    // MARK: History

    private func history(_ entries: [HistoryEntry]) -> some View {
        VStack(alignment: .leading, spacing: 12) {
            Text("detail.history").font(.headline)
            ForEach(entries, id: \.eventId) { entry in
                VStack(alignment: .leading, spacing: 3) {
                    HStack {
                        Text(verbatim: HistoryKind.label(entry.kind)).font(.subheadline.weight(.semibold))
                        Spacer()
                        Text(verbatim: Format.dateTime(entry.recordedAt)).font(.caption).foregroundStyle(.secondary)
                    }
                    Text(verbatim: entry.author).font(.caption).foregroundStyle(.secondary)
                    if !entry.text.isEmpty { Text(verbatim: entry.text).font(.footnote) }
                    if entry.photoCount > 0 {
                        Text("detail.history.photos \(Int(entry.photoCount))").font(.caption)
                    }
                    if let refused = entry.refusedReason {
                        Text("detail.history.refused \(refused)").font(.caption).foregroundStyle(.red)
                    } else if entry.officeSeq == nil {
                        Text("detail.history.pending").font(.caption).foregroundStyle(.orange)
                    }
                }
                Divider()
            }
        }
    }
}

/// Rejecting a strike-off needs a reason: the village reads it and fixes the issue again.
private struct RejectSheet: View {
    let onReject: (String) async -> Problem?
    @State private var reason = ""
    @State private var sending = false
    @State private var problem: Problem?
    @Environment(\.dismiss) private var dismiss

    init(onReject: @escaping (String) async -> Problem?) {
        self.onReject = onReject
    }

    private var canReject: Bool { !reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty && !sending }

    var body: some View {
        NavigationStack {
            ScrollView {
                VStack(alignment: .leading, spacing: 16) {
                    Text("detail.reject.explain")
                    TextField("detail.reject.reason", text: $reason, axis: .vertical)
                        .lineLimit(3...6)
                        .padding(.vertical, 12)
                        .fieldBox()
                    if let problem { ProblemBanner(problem: problem) }
                    Button {
                        sending = true
                        Task {
                            problem = await onReject(reason)
                            sending = false
                            if problem == nil { dismiss() }
                        }
                    } label: {
                        Label("detail.reject", systemImage: "xmark.seal.fill")
                    }
                    .buttonStyle(.bigTinted(.red))
                    .disabled(!canReject)
                }
                .padding()
            }
            .navigationTitle("detail.reject.title")
            .navigationBarTitleDisplayMode(.inline)
            .toolbar {
                ToolbarItem(placement: .cancellationAction) {
                    Button("common.cancel") { dismiss() }
                }
            }
        }
    }
}
