import Combine
import Foundation
import RectifyKit

/// What waits on the phone for the office, how the last syncs went, and a sync the person runs by hand
/// with its progress.
@MainActor
final class SyncStatusViewModel: ObservableObject {
    enum Outcome {
        case synced(SyncSummary)
        case failed(Problem)
        case cancelled
        /// Another sync (in the background) was already under way.
        case busy
    }

    @Published private(set) var status: SyncStatus?
    @Published private(set) var statusProblem: Problem?
    @Published private(set) var progress: SyncProgress?
    @Published private(set) var running = false
    @Published private(set) var outcome: Outcome?

    let services: AppServices
    private let app: AppModel
    private var syncTask: Task<Void, Never>?

    init(services: AppServices, app: AppModel) {
        self.services = services
        self.app = app
    }

    func refresh() async {
        do {
            status = try await services.backgroundSync.status()
            statusProblem = nil
        } catch {
            statusProblem = Problem(error)
        }
    }

    /// Runs one sync now, reporting each exchange with the office. Cancel stops it between two exchanges;
    /// what was sent or received by then is kept.
    func syncNow() {
        guard !running else { return }
        guard app.beginManualSync() else {
            outcome = .busy
            return
        }
        running = true
        progress = nil
        outcome = nil
        let backgroundSync = services.backgroundSync
        syncTask = Task {
            do {
                // Through BackgroundSync, so the result is recorded and a retry scheduled as for the
                // background task's own syncs.
                let result = try await backgroundSync.run { step in
                    Task { @MainActor [weak self] in
                        if self?.running == true { self?.progress = step }
                    }
                }
                switch result {
                case .synced(let summary):
                    outcome = .synced(summary)
                case .retryLater(_, let error), .giveUp(let error, _):
                    outcome = Problem(error).map(Outcome.failed) ?? .cancelled
                }
            } catch {
                // A cancelled sync stops between two exchanges; what was sent or received by then is kept.
                outcome = Problem(error).map(Outcome.failed) ?? .cancelled
            }
            running = false
            syncTask = nil
            await app.endManualSync()
            await refresh()
        }
    }

    func cancel() { syncTask?.cancel() }
}
