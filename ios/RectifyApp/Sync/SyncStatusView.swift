import RectifyKit
import SwiftUI

/// The one place sync problems show: what waits on this phone and for how long, photos still to send, the
/// last success and the last error, and a "Sync now" with live progress and Cancel. Recording never waits
/// for any of this; everything stays on the phone until a network returns.
struct SyncStatusView: View {
    @ObservedObject var app: AppModel
    let services: AppServices
    let profile: Profile

    @StateObject private var model: SyncStatusViewModel
    @State private var enrollingAgain = false

    init(app: AppModel, services: AppServices, profile: Profile) {
        self.app = app
        self.services = services
        self.profile = profile
        _model = StateObject(wrappedValue: SyncStatusViewModel(services: services, app: app))
    }

    var body: some View {
        NavigationStack {
            List {
                if let status = model.status {
                    if status.needsEnrollment { needsEnrollment }
                    waiting(status)
                    history(status)
                } else if let problem = model.statusProblem {
                    Section { ProblemBanner(problem: problem) }
                } else {
                    Section { ProgressView().frame(maxWidth: .infinity, minHeight: 60) }
                }
                syncNow
                thisPhone
            }
            .listStyle(.insetGrouped)
            .navigationTitle("sync.title")
            .refreshable { await model.refresh() }
        }
        .task {
            // On appear, then every 30 seconds while the screen shows.
            while !Task.isCancelled {
                await model.refresh()
                try? await Task.sleep(nanoseconds: 30 * 1_000_000_000)
            }
        }
        .onChange(of: app.syncGeneration) { _ in
            Task { await model.refresh() }
        }
        .sheet(isPresented: $enrollingAgain) {
            EnrollmentView(services: services, app: app, link: nil, isSheet: true)
        }
    }

    private var needsEnrollment: some View {
        Section {
            Banner(systemImage: "person.crop.circle.badge.exclamationmark", tint: .red) {
                Text("sync.needsEnrollment.title").font(.headline)
                Text("sync.needsEnrollment.message")
                Button("sync.needsEnrollment.action") { enrollingAgain = true }
                    .buttonStyle(.bigTinted(.red))
            }
        }
    }

    private func waiting(_ status: SyncStatus) -> some View {
        Section {
            if status.pendingEvents == 0 && status.unconfirmedPhotoBytes == 0 {
                Label("sync.allSent", systemImage: "checkmark.icloud.fill")
                    .foregroundStyle(.green)
                    .frame(minHeight: 44)
            } else {
                row("sync.pending", value: "\(status.pendingEvents)")
                if let age = status.oldestUnsentAge {
                    row("sync.oldest", value: Format.duration(age))
                }
                if status.unconfirmedPhotoBytes > 0 {
                    row("sync.photoBytes", value: Format.bytes(status.unconfirmedPhotoBytes))
                }
                Text("sync.offlineNote").font(.footnote).foregroundStyle(.secondary)
            }
        } header: {
            Text("sync.section.waiting")
        }
    }

    private func history(_ status: SyncStatus) -> some View {
        Section {
            row("sync.lastSuccess", value: status.lastSuccessAt.map { Format.relative($0) } ?? String(localized: "sync.never"))
            if let attempt = status.lastAttemptAt {
                row("sync.lastAttempt", value: Format.relative(attempt))
            }
            if let error = status.lastError {
                VStack(alignment: .leading, spacing: 4) {
                    Text("sync.lastError").font(.caption).foregroundStyle(.secondary)
                    Text(verbatim: error).foregroundStyle(.red)
                }
                if status.consecutiveFailures > 0 {
                    row("sync.failures", value: "\(status.consecutiveFailures)")
                }
            }
        } header: {
            Text("sync.section.history")
        }
    }

    private var syncNow: some View {
        Section {
            if model.running {
                VStack(alignment: .leading, spacing: 8) {
                    HStack(spacing: 10) {
                        ProgressView()
                        Text(verbatim: model.progress?.phase.label ?? SyncPhase.starting.label).font(.headline)
                    }
                    if let progress = model.progress {
                        Text("sync.progress.events \(Format.count(progress.eventsUp)) \(Format.count(progress.eventsDown))")
                            .monospacedDigit()
                        Text("sync.progress.photos \(Format.count(progress.photosUp)) \(Format.count(progress.photosDown))")
                            .monospacedDigit()
                        if progress.pending > 0 {
                            Text("sync.progress.pending \(Format.count(progress.pending))").monospacedDigit()
                        }
                    }
                }
                .padding(.vertical, 4)
                Button("common.cancel", role: .destructive) { model.cancel() }
                    .buttonStyle(.bigTinted(.red, prominent: false))
            } else {
                if let outcome = model.outcome { outcomeView(outcome) }
                Button {
                    model.syncNow()
                } label: {
                    Label("sync.now", systemImage: "arrow.triangle.2.circlepath")
                }
                .buttonStyle(.big)
                .disabled(app.syncing)
                if app.syncing {
                    Text("sync.alreadyRunning").font(.footnote).foregroundStyle(.secondary)
                }
            }
        }
        .listRowSeparator(.hidden)
    }

    @ViewBuilder
    private func outcomeView(_ outcome: SyncStatusViewModel.Outcome) -> some View {
        switch outcome {
        case .synced(let summary):
            Banner(systemImage: "checkmark.circle.fill", tint: .green) {
                Text("sync.done").font(.headline)
                Text("sync.done.counts \(Format.count(summary.pushed)) \(Format.count(summary.pulled))")
                Text("sync.done.photos \(Format.count(summary.photosUp)) \(Format.count(summary.photosDown))")
                if !summary.refused.isEmpty {
                    Text("sync.done.refused \(summary.refused.count)").foregroundStyle(.red)
                    ForEach(summary.refused, id: \.eventId) { refused in
                        Text(verbatim: "• \(HistoryKind.label(refused.kind)): \(refused.reason)").font(.footnote)
                    }
                }
                ForEach(summary.photoProblems, id: \.self) { problem in
                    Text(verbatim: "• " + problem).font(.footnote).foregroundStyle(.orange)
                }
            }
        case .failed(let problem):
            ProblemBanner(problem: problem)
        case .cancelled:
            Banner(systemImage: "stop.circle", tint: .gray) {
                Text("sync.cancelled")
            }
        case .busy:
            Banner(systemImage: "hourglass", tint: .gray) {
                Text("sync.alreadyRunning")
            }
        }
    }

    private var thisPhone: some View {
        Section {
            row("sync.phone.user", value: profile.userName)
            row("sync.phone.role", value: profile.role.label)
            if !profile.villageCodes.isEmpty {
                row("sync.phone.villages", value: profile.villageCodes.joined(separator: ", "))
            }
            row("sync.phone.core", value: libraryVersion())
            Button("sync.phone.enrollAgain") { enrollingAgain = true }
                .frame(minHeight: 44)
        } header: {
            Text("sync.section.phone")
        }
    }

    private func row(_ label: LocalizedStringKey, value: String) -> some View {
        HStack {
            Text(label)
            Spacer()
            Text(verbatim: value)
                .foregroundStyle(.secondary)
                .multilineTextAlignment(.trailing)
                .monospacedDigit()
        }
        .frame(minHeight: 44)
    }
}
