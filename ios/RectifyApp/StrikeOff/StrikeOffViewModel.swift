import CoreLocation
import Foundation
import PhotosUI
import RectifyKit
import SwiftUI
import UIKit

/// A secretary striking off a fixed issue (销号): an after-photo taken from where the before-photo was,
/// an optional note, and the request saved on the phone for the office's acceptors.
@MainActor
final class StrikeOffViewModel: ObservableObject {
    enum Stage {
        case preparing
        case camera
        /// The camera may not be used; a photo from the library still can.
        case noCamera(CameraPermission)
        /// There is no room for a photo: nothing can be taken or recorded.
        case blocked(Problem)
        case review
    }

    @Published private(set) var stage: Stage = .preparing
    @Published private(set) var beforeImage: UIImage?
    @Published private(set) var afterImage: UIImage?
    @Published private(set) var afterHasGPS = false
    @Published private(set) var working = false
    @Published var note = ""
    @Published var problem: Problem?

    let services: AppServices
    let detail: IssueDetail
    private let folder: URL
    private var capture: URL?
    private var permission: CameraPermission = .denied

    init(services: AppServices, detail: IssueDetail, folder: URL) {
        self.services = services
        self.detail = detail
        self.folder = folder
    }

    /// Loads the before-photo for the overlay, checks for room, then asks for the camera.
    func prepare() async {
        if let before = detail.photos.first(where: { $0.role == .before }) {
            beforeImage = await StoredPhotoView.load(before.path ?? before.thumbnailPath)
        }
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try DiskSpace.ensureRoom(at: folder)
        } catch {
            stage = .blocked(Problem(error) ?? .unexpected(error))
            return
        }
        permission = await CameraPermission.resolve()
        stage = permission == .allowed ? .camera : .noCamera(permission)
    }

    /// The photo just taken, stamped with the fresh fix if there is one.
    func captured(_ data: Data, location: CLLocation?) async {
        await keep(data, stamping: location)
    }

    /// A photo from the library (the camera is denied): its own position, if any, is kept.
    func picked(_ item: PhotosPickerItem) async {
        do {
            guard let data = try await item.loadTransferable(type: Data.self) else {
                throw PhotoFileError.unreadable
            }
            await keep(data, stamping: nil)
        } catch {
            problem = Problem(error)
        }
    }

    private func keep(_ data: Data, stamping location: CLLocation?) async {
        working = true
        defer { working = false }
        discardCapture()
        let folder = self.folder
        do {
            let kept = try await Task.detached(priority: .userInitiated) {
                let url = try PhotoFiles.writeJPEG(data, into: folder, stamping: location)
                return (url, PhotoFiles.thumbnail(of: url, maxPixels: 1600), PhotoFiles.hasGPS(url))
            }.value
            capture = kept.0
            afterImage = kept.1
            afterHasGPS = kept.2
            stage = .review
        } catch {
            problem = Problem(error)
        }
    }

    func retake() {
        discardCapture()
        stage = permission == .allowed ? .camera : .noCamera(permission)
    }

    /// Saves the strike-off request on the phone. Answers whether it was recorded.
    func confirm() async -> Bool {
        guard let capture, !working else { return false }
        working = true
        defer { working = false }
        let text = note.trimmingCharacters(in: .whitespacesAndNewlines)
        do {
            _ = try await services.ledger.strikeOff(detail.issue.id, paths: [capture.path], note: text.isEmpty ? nil : text)
            services.backgroundSync.localChange()
            // The ledger holds its own copy now.
            discardCapture()
            return true
        } catch {
            // Nothing was recorded; the photo stays for another try.
            problem = Problem(error)
            return false
        }
    }

    /// Leaving without recording: the photo taken for it goes.
    func cancel() { discardCapture() }

    private func discardCapture() {
        if let capture { PhotoFiles.remove([capture]) }
        capture = nil
        afterImage = nil
        afterHasGPS = false
    }
}
