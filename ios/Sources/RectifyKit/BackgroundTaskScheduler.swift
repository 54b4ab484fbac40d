#if canImport(BackgroundTasks) && os(iOS)
import BackgroundTasks
import Foundation

/// `SyncScheduler` on BGTaskScheduler. Register the task identifier in Info.plist
/// (`BGTaskSchedulerPermittedIdentifiers`) and call `register(run:)` before the app finishes launching.
/// Every request needs network connectivity; the system runs it when a network is there, which is how a
/// sync happens "when a network returns". Only one request per identifier waits: a new one replaces it.
public final class BackgroundTaskScheduler: SyncScheduler, @unchecked Sendable {
    public let identifier: String

    public init(identifier: String = "app.rectify.field.sync") {
        self.identifier = identifier
    }

    /// Registers the launch handler: `run` performs one sync and returns whether it went well.
    public func register(run: @escaping @Sendable () async -> Bool) {
        BGTaskScheduler.shared.register(forTaskWithIdentifier: identifier, using: nil) { task in
            let work = Task {
                let ok = await run()
                task.setTaskCompleted(success: ok)
            }
            task.expirationHandler = { work.cancel() }
        }
    }

    public func request(_ request: SyncRequest) {
        let processing = BGProcessingTaskRequest(identifier: identifier)
        processing.requiresNetworkConnectivity = true
        processing.requiresExternalPower = false
        processing.earliestBeginDate = Date(timeIntervalSinceNow: request.delay)
        do {
            try BGTaskScheduler.shared.submit(processing)
        } catch {
            // Unavailable in the simulator and when Background App Refresh is off: foreground syncs still run.
            NSLog("Rectify: could not schedule a background sync: \(error)")
        }
    }

    public func cancelAll() {
        BGTaskScheduler.shared.cancel(taskRequestWithIdentifier: identifier)
    }
}
#endif
