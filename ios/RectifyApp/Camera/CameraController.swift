import AVFoundation
import Combine
import UIKit

/// The back camera for evidence photos: one AVCaptureSession with an AVCapturePhotoOutput, configured and
/// started on its own queue (starting a session blocks for a moment), and captures as async calls.
final class CameraController: NSObject, ObservableObject, AVCapturePhotoCaptureDelegate, @unchecked Sendable {
    enum State: Equatable {
        case starting
        case running
        case failed
    }

    @Published private(set) var state: State = .starting
    @Published private(set) var capturing = false

    let session = AVCaptureSession()
    private let output = AVCapturePhotoOutput()
    private let queue = DispatchQueue(label: "app.rectify.camera")
    private var configured = false
    private let lock = NSLock()
    private var waiting: [Int64: CheckedContinuation<Data, Error>] = [:]

    enum CaptureError: LocalizedError {
        case notRunning
        case noImage

        var errorDescription: String? {
            switch self {
            case .notRunning: return String(localized: "camera.error.notRunning")
            case .noImage: return String(localized: "camera.error.noImage")
            }
        }
    }

    func start() {
        queue.async { [self] in
            if !configured {
                configured = configure()
            }
            guard configured else {
                publish(.failed)
                return
            }
            if !session.isRunning { session.startRunning() }
            publish(session.isRunning ? .running : .failed)
        }
    }

    func stop() {
        queue.async { [self] in
            if session.isRunning { session.stopRunning() }
        }
    }

    /// Takes one photo and answers its file data: HEIC where the phone supports it, JPEG otherwise. The
    /// caller turns it into the JPEG the ledger takes.
    func capture() async throws -> Data {
        await MainActor.run { capturing = true }
        defer { Task { @MainActor in self.capturing = false } }
        return try await withCheckedThrowingContinuation { continuation in
            queue.async { [self] in
                guard session.isRunning else {
                    continuation.resume(throwing: CaptureError.notRunning)
                    return
                }
                let settings: AVCapturePhotoSettings
                if output.availablePhotoCodecTypes.contains(.hevc) {
                    settings = AVCapturePhotoSettings(format: [AVVideoCodecKey: AVVideoCodecType.hevc])
                } else {
                    settings = AVCapturePhotoSettings()
                }
                settings.photoQualityPrioritization = .balanced
                if output.supportedFlashModes.contains(.auto) { settings.flashMode = .auto }
                lock.lock()
                waiting[settings.uniqueID] = continuation
                lock.unlock()
                output.capturePhoto(with: settings, delegate: self)
            }
        }
    }

    func photoOutput(_ output: AVCapturePhotoOutput, didFinishProcessingPhoto photo: AVCapturePhoto, error: Error?) {
        lock.lock()
        let continuation = waiting.removeValue(forKey: photo.resolvedSettings.uniqueID)
        lock.unlock()
        if let error {
            continuation?.resume(throwing: error)
        } else if let data = photo.fileDataRepresentation() {
            continuation?.resume(returning: data)
        } else {
            continuation?.resume(throwing: CaptureError.noImage)
        }
    }

    /// The last callback of every capture. A capture that failed before any photo was processed never
    /// reaches the method above: answer its caller here, so `capture()` cannot wait forever.
    func photoOutput(_ output: AVCapturePhotoOutput, didFinishCaptureFor resolvedSettings: AVCaptureResolvedPhotoSettings,
                     error: Error?) {
        lock.lock()
        let continuation = waiting.removeValue(forKey: resolvedSettings.uniqueID)
        lock.unlock()
        continuation?.resume(throwing: error ?? CaptureError.noImage)
    }

    /// Runs on `queue`. False when the phone has no back camera or it cannot be used now.
    private func configure() -> Bool {
        guard let device = AVCaptureDevice.default(.builtInWideAngleCamera, for: .video, position: .back),
              let input = try? AVCaptureDeviceInput(device: device) else { return false }
        session.beginConfiguration()
        defer { session.commitConfiguration() }
        session.sessionPreset = .photo
        guard session.canAddInput(input), session.canAddOutput(output) else { return false }
        session.addInput(input)
        session.addOutput(output)
        output.maxPhotoQualityPrioritization = .quality
        if let connection = output.connection(with: .video) { connection.setPortrait() }
        return true
    }

    private func publish(_ state: State) {
        DispatchQueue.main.async { self.state = state }
    }
}

extension AVCaptureConnection {
    /// The app runs in portrait only, so photos and the preview are turned upright for it.
    func setPortrait() {
        if #available(iOS 17.0, *) {
            if isVideoRotationAngleSupported(90) { videoRotationAngle = 90 }
        } else if isVideoOrientationSupported {
            videoOrientation = .portrait
        }
    }
}
