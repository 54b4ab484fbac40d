import CoreLocation
import Foundation
import PhotosUI
import RectifyKit
import SwiftUI
import UIKit

/// A problem being recorded on a walk: its photos, type, place and note, until it is saved on the phone.
///
/// The photos wait as JPEG files in the captures folder, so they survive a wait for GPS, a switch to another
/// tab, even the app being closed: the next start picks them up again. They are deleted once the ledger
/// holds its own copies.
@MainActor
final class WalkViewModel: ObservableObject {
    struct Capture: Identifiable, Equatable {
        let url: URL
        let thumbnail: UIImage?
        var id: URL { url }
    }

    /// What was just saved, for the confirmation on screen.
    struct Saved: Equatable {
        let category: String
        let village: String
    }

    static let maxPhotos = 12
    static let duplicateRadiusM = 30.0
    /// How far outside every boundary a point still goes to the nearest village by itself (the core's rule).
    static let nearestVillageLimitM = 500.0
    /// How far the inspector moves before the village is looked up again.
    private static let relocateAfterM = 15.0

    @Published private(set) var captures: [Capture] = []
    @Published private(set) var restoredCaptures = false
    @Published private(set) var addingPhoto = false
    @Published var category: ProblemCategory?
    @Published var note = ""
    @Published private(set) var located: LocatedVillage?
    @Published private(set) var hasPosition = false
    @Published var chosenVillage: VillageInfo?
    @Published var villageReason = ""
    @Published private(set) var villages: [VillageInfo] = []
    @Published private(set) var saving = false
    @Published var showDuplicates = false
    @Published private(set) var duplicates: [NearbyIssue] = []
    @Published var saved: Saved?
    @Published var problem: Problem?

    let services: AppServices
    let profile: Profile
    private let folder: URL
    private var locatedFrom: CLLocation?
    private var duplicatesPosition: Position?
    private var lookedForLeftovers = false

    init(services: AppServices, profile: Profile, folder: URL) {
        self.services = services
        self.profile = profile
        self.folder = folder
    }

    var catalogue: Catalogue { services.catalogue }

    /// Reads the villages and picks up photos left from an earlier, unfinished record.
    func load() async {
        if villages.isEmpty { villages = (try? await services.ledger.villages()) ?? [] }
        // Only once: later, the folder holds this session's own photos, some still being written.
        guard !lookedForLeftovers else { return }
        lookedForLeftovers = true
        let folder = self.folder
        let restored = await Task.detached(priority: .userInitiated) {
            PhotoFiles.captures(in: folder).map { Capture(url: $0, thumbnail: PhotoFiles.thumbnail(of: $0)) }
        }.value
        if !restored.isEmpty {
            captures = restored
            restoredCaptures = true
        }
    }

    // MARK: Photos

    var canAddPhoto: Bool { captures.count < Self.maxPhotos && !addingPhoto && !saving }
    var photosLeft: Int { max(0, Self.maxPhotos - captures.count) }

    /// Checks there is room for another photo before the camera opens. On a full phone it says so and
    /// answers false, and nothing is taken.
    func ensureRoom() -> Bool {
        do {
            try DiskSpace.ensureRoom(at: folder)
            return true
        } catch {
            problem = Problem(error)
            return false
        }
    }

    /// A photo just taken: converted to JPEG with the current fix (if a fresh one) as its GPS block.
    func addCameraPhoto(_ data: Data, location: CLLocation?) async {
        _ = await add(data, stamping: location)
    }

    /// Photos chosen from the library, when the camera may not be used. Their own GPS, if any, is kept.
    func addPickedPhotos(_ items: [PhotosPickerItem]) async {
        for item in items.prefix(photosLeft) {
            let data: Data?
            do {
                data = try await item.loadTransferable(type: Data.self)
            } catch {
                problem = Problem(error)
                return
            }
            guard let data else {
                problem = Problem(PhotoFileError.unreadable)
                return
            }
            guard await add(data, stamping: nil) else { return }
        }
    }

    /// Keeps one photo as a JPEG in the captures folder; on failure (a full phone) says so and answers false.
    private func add(_ data: Data, stamping location: CLLocation?) async -> Bool {
        addingPhoto = true
        defer { addingPhoto = false }
        saved = nil
        let folder = self.folder
        do {
            let capture = try await Task.detached(priority: .userInitiated) {
                let url = try PhotoFiles.writeJPEG(data, into: folder, stamping: location)
                return Capture(url: url, thumbnail: PhotoFiles.thumbnail(of: url))
            }.value
            captures.append(capture)
            return true
        } catch {
            problem = Problem(error)
            return false
        }
    }

    func remove(_ capture: Capture) {
        PhotoFiles.remove([capture.url])
        captures.removeAll { $0.id == capture.id }
        if captures.isEmpty { restoredCaptures = false }
    }

    // MARK: Place

    /// Looks the village up for a new position, again only once the inspector has moved.
    func positionChanged(_ position: Position?) async {
        hasPosition = position != nil
        guard let position else { return }
        if let from = locatedFrom, located != nil,
           position.location.distance(from: from) < Self.relocateAfterM { return }
        locatedFrom = position.location
        do {
            located = try await services.ledger.locate(position.fix)
        } catch {
            located = nil
        }
    }

    /// The point is far outside every boundary, or there are no boundaries and the phone answers for
    /// several villages (or none): the inspector must say which village it is.
    var mustChooseVillage: Bool {
        guard chosenVillage == nil else { return false }
        if let located { return locatedTooFar(located) }
        return profile.villageCodes.count != 1
    }

    /// Charging the issue to a village other than the one the point lies in needs a reason.
    var reasonRequired: Bool {
        guard let chosen = chosenVillage, let located, !locatedTooFar(located) else { return false }
        return chosen.code != located.villageCode
    }

    func locatedTooFar(_ located: LocatedVillage) -> Bool {
        !located.inside && located.distanceM > Self.nearestVillageLimitM
    }

    func choose(_ village: VillageInfo) {
        if village.code == located?.villageCode {
            chosenVillage = nil
            villageReason = ""
        } else {
            chosenVillage = village
        }
    }

    /// The phone's one village, which the core uses when no boundary says where the point is.
    var onlyVillageName: String? {
        guard profile.villageCodes.count == 1, let code = profile.villageCodes.first else { return nil }
        return villages.first { $0.code == code }?.name ?? code
    }

    private var villageName: String {
        chosenVillage?.name ?? located?.villageName ?? onlyVillageName ?? ""
    }

    // MARK: Saving

    /// The first thing missing before the issue can be saved, or nil when it can.
    func missing(position: Position?) -> LocalizedStringKey? {
        if captures.isEmpty { return "walk.missing.photo" }
        if category == nil { return "walk.missing.category" }
        if position == nil { return "walk.missing.position" }
        if mustChooseVillage { return "walk.missing.village" }
        if reasonRequired && trimmed(villageReason) == nil { return "walk.missing.reason" }
        return nil
    }

    /// Saves on the phone, first asking about open issues of the same type within 30 m.
    func save(at position: Position?) async {
        guard let position else { return }
        await save(at: position, checkDuplicates: true)
    }

    /// The inspector saw the possible duplicates and records a new issue all the same.
    func recordAnyway() async {
        guard let position = duplicatesPosition else { return }
        await save(at: position, checkDuplicates: false)
    }

    var duplicatesMessage: String {
        var lines = [String(localized: "walk.duplicates.message \(duplicates.count)")]
        for nearby in duplicates {
            let issue = nearby.issue
            lines.append("• \(catalogue.title(issue.category)) · \(Format.metres(nearby.distanceM)) · "
                + "\(issue.status.label) · \(Format.day(issue.reportedAt))")
        }
        return lines.joined(separator: "\n")
    }

    private func save(at position: Position, checkDuplicates: Bool) async {
        guard missing(position: position) == nil, let category, !saving else { return }
        saving = true
        defer { saving = false }
        let fix = position.fix
        do {
            if checkDuplicates {
                let nearby = try await services.ledger.nearbyOpenIssues(
                    category: category.code, at: fix, radiusM: Self.duplicateRadiusM)
                if !nearby.isEmpty {
                    duplicates = nearby.sorted { $0.distanceM < $1.distanceM }
                    duplicatesPosition = position
                    showDuplicates = true
                    return
                }
            }
            let villageName = self.villageName
            let files = captures.map(\.url)
            _ = try await services.ledger.report(NewIssue(
                category: category.code,
                at: fix,
                photoPaths: files.map(\.path),
                note: trimmed(note),
                villageCode: chosenVillage?.code,
                villageReason: reasonRequired ? trimmed(villageReason) : nil
            ))
            services.backgroundSync.localChange()
            // The ledger copied the photos into its own store.
            PhotoFiles.remove(files)
            saved = Saved(category: category.zh, village: villageName)
            resetDraft()
        } catch {
            // Nothing was recorded: the draft and its photos stay for another try.
            problem = Problem(error)
        }
    }

    /// Throws the draft away, photos included.
    func discard() {
        PhotoFiles.remove(captures.map(\.url))
        resetDraft()
    }

    private func resetDraft() {
        captures = []
        restoredCaptures = false
        category = nil
        note = ""
        chosenVillage = nil
        villageReason = ""
        duplicates = []
        duplicatesPosition = nil
    }

    private func trimmed(_ text: String) -> String? {
        let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return value.isEmpty ? nil : value
    }
}
