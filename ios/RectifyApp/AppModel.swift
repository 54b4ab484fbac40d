import Combine
import Foundation
import RectifyKit

/// Where the app keeps its files. The ledger, its photos and the sync record live under Application Support
/// (kept out of iCloud backups: the office holds the copy that matters, and evidence photos are large);
/// the upload spool is in Caches, as the system may empty it and the core sends again what did not arrive.
struct AppPaths: Sendable {
    let root: URL
    let ledger: URL
    let syncRecord: URL
    let walkCaptures: URL
    let strikeOffCaptures: URL
    let photoSpool: URL

    static func standard() -> AppPaths {
        let files = FileManager.default
        let support = files.urls(for: .applicationSupportDirectory, in: .userDomainMask)[0]
        let caches = files.urls(for: .cachesDirectory, in: .userDomainMask)[0]
        let root = support.appendingPathComponent("rectify", isDirectory: true)
        let captures = root.appendingPathComponent("captures", isDirectory: true)
        return AppPaths(
            root: root,
            ledger: root.appendingPathComponent("ledger.db"),
            syncRecord: root.appendingPathComponent("sync-record.json"),
            walkCaptures: captures.appendingPathComponent("walk", isDirectory: true),
            strikeOffCaptures: captures.appendingPathComponent("strike-off", isDirectory: true),
            photoSpool: caches.appendingPathComponent("rectify-photo-spool", isDirectory: true)
        )
    }

    /// Creates the folders and keeps the ledger's folder (the database, `ledger.db-photos`, captures) out of
    /// backups. Setting the flag on the folder covers everything inside it.
    func prepare() throws {
        let files = FileManager.default
        for folder in [root, walkCaptures, strikeOffCaptures, photoSpool] {
            try files.createDirectory(at: folder, withIntermediateDirectories: true)
        }
        var values = URLResourceValues()
        values.isExcludedFromBackup = true
        var folder = root
        try folder.setResourceValues(values)
    }
}

/// What the screens work with once the ledger is open.
struct AppServices: Sendable {
    let ledger: FieldLedger
    let backgroundSync: BackgroundSync
    let catalogue: Catalogue
}

/// The app's one shared state: the ledger, the transport and background sync around it, and who this phone
/// acts for. Created once (a second background URLSession with the same identifier would lose upload events).
@MainActor
final class AppModel: ObservableObject {
    static let shared = AppModel()

    static let syncTaskIdentifier = "app.rectify.field.sync"
    static let photoSessionIdentifier = "app.rectify.field.photos"

    enum LedgerState {
        case opening
        case failed(Problem)
        case ready(AppServices)
    }

    @Published private(set) var ledgerState: LedgerState = .opening
    /// nil until the phone is enrolled with an office.
    @Published private(set) var profile: Profile?
    /// An enrollment invitation the phone was opened with (`rectify://enroll?server=…&code=…`), waiting for a tap.
    @Published var enrollmentInvitation: EnrollmentInvitation?
    /// A sync started by the app is under way; a second one would be refused by the core.
    @Published private(set) var syncing = false
    /// Goes up after every sync the app ran, so screens showing sync state read it again.
    @Published private(set) var syncGeneration = 0

    let paths: AppPaths
    let scheduler = BackgroundTaskScheduler(identifier: AppModel.syncTaskIdentifier)
    let photoUploads: PhotoUploadSession
    let transport: URLSessionTransport
    let records: FileSyncRecords
    private var opening: Task<AppServices, Error>?

    private init() {
        let paths = AppPaths.standard()
        let photoUploads = PhotoUploadSession.background(identifier: Self.photoSessionIdentifier, spool: paths.photoSpool)
        self.paths = paths
        self.photoUploads = photoUploads
        transport = URLSessionTransport(photoUploads: photoUploads)
        records = FileSyncRecords(file: paths.syncRecord)
    }

    /// The open ledger and its helpers, opening them on first use. The background task may ask before any
    /// screen does, so both wait on the same opening.
    func loadServices() async throws -> AppServices {
        if let opening { return try await opening.value }
        let task = Task { try await self.openLedger() }
        opening = task
        do {
            return try await task.value
        } catch {
            opening = nil
            throw error
        }
    }

    private func openLedger() async throws -> AppServices {
        try paths.prepare()
        let ledger = try await FieldLedger.open(path: paths.ledger.path, transport: transport)
        let backgroundSync = BackgroundSync(ledger: ledger, scheduler: scheduler, records: records)
        let catalogue = Catalogue(try await ledger.categories())
        return AppServices(ledger: ledger, backgroundSync: backgroundSync, catalogue: catalogue)
    }

    /// Opens the ledger for the screens and reads the profile.
    func start() async {
        ledgerState = .opening
        do {
            let services = try await loadServices()
            profile = try await services.ledger.profileOrNil()
            ledgerState = .ready(services)
            sceneBecameActive()
        } catch {
            ledgerState = .failed(Problem(error) ?? Problem.unexpected(error))
        }
    }

    func didEnroll(_ profile: Profile, services: AppServices) {
        self.profile = profile
        enrollmentInvitation = nil
        services.backgroundSync.enrolled()
    }

    func open(_ url: URL) {
        if let link = EnrollmentInvitation(url: url) { enrollmentInvitation = link }
    }

    // MARK: Sync

    /// The app came to the foreground: queue a background sync, and try one now, quietly (a failure only
    /// shows on the sync status screen).
    func sceneBecameActive() {
        guard case .ready(let services) = ledgerState, profile != nil else { return }
        services.backgroundSync.requestNow()
        Task { _ = await runBackgroundSync() }
    }

    /// One sync through `BackgroundSync`, which records the outcome and schedules the retry. This is what the
    /// BGTaskScheduler task runs; it answers whether the sync went well.
    func runBackgroundSync() async -> Bool {
        guard let services = try? await loadServices() else { return false }
        // A sync the app started in the foreground is still running: it does this one's work.
        if syncing { return true }
        syncing = true
        defer {
            syncing = false
            syncGeneration += 1
        }
        let outcome: SyncOutcome
        do {
            outcome = try await services.backgroundSync.run()
        } catch {
            return false  // the system ended the background time; the sync stopped between two exchanges
        }
        await refreshProfile(services)
        switch outcome {
        case .synced: return true
        case .retryLater, .giveUp: return false
        }
    }

    /// A sync the person started from the status screen, which shows its progress itself. Returns false when
    /// another sync is already under way.
    func beginManualSync() -> Bool {
        guard !syncing else { return false }
        syncing = true
        return true
    }

    /// A manual sync ended (it went through `BackgroundSync`, which recorded how it went).
    func endManualSync() async {
        syncing = false
        syncGeneration += 1
        if case .ready(let services) = ledgerState { await refreshProfile(services) }
    }

    private func refreshProfile(_ services: AppServices) async {
        if let current = try? await services.ledger.profileOrNil() { profile = current }
    }
}
