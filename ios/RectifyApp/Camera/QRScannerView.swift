import AVFoundation
import SwiftUI

/// Reads QR codes with the back camera (AVCaptureMetadataOutput). `onCode` answers whether the code was the
/// one wanted; scanning stops at the first one that was, and carries on past any other.
struct QRScannerView: UIViewRepresentable {
    let onCode: (String) -> Bool
    let onUnavailable: () -> Void

    func makeCoordinator() -> Coordinator { Coordinator(onCode: onCode, onUnavailable: onUnavailable) }

    func makeUIView(context: Context) -> CameraPreviewUIView {
        let view = CameraPreviewUIView()
        view.backgroundColor = .black
        view.previewLayer.session = context.coordinator.session
        view.previewLayer.videoGravity = .resizeAspectFill
        context.coordinator.start()
        return view
    }

    func updateUIView(_ view: CameraPreviewUIView, context: Context) {}

    static func dismantleUIView(_ view: CameraPreviewUIView, coordinator: Coordinator) {
        coordinator.stop()
    }

    /// The session is only touched on `queue`; the scan state only on the main queue (the delegate's).
    final class Coordinator: NSObject, AVCaptureMetadataOutputObjectsDelegate, @unchecked Sendable {
        let session = AVCaptureSession()
        private let queue = DispatchQueue(label: "app.rectify.qr")
        private let onCode: (String) -> Bool
        private let onUnavailable: () -> Void
        private var accepted = false
        private var lastRefused: String?

        init(onCode: @escaping (String) -> Bool, onUnavailable: @escaping () -> Void) {
            self.onCode = onCode
            self.onUnavailable = onUnavailable
        }

        func start() {
            queue.async { [self] in
                guard configure() else {
                    DispatchQueue.main.async { self.onUnavailable() }
                    return
                }
                session.startRunning()
            }
        }

        func stop() {
            queue.async { [self] in
                if session.isRunning { session.stopRunning() }
            }
        }

        private func configure() -> Bool {
            guard let device = AVCaptureDevice.default(.builtInWideAngleCamera, for: .video, position: .back),
                  let input = try? AVCaptureDeviceInput(device: device) else { return false }
            let output = AVCaptureMetadataOutput()
            session.beginConfiguration()
            defer { session.commitConfiguration() }
            guard session.canAddInput(input), session.canAddOutput(output) else { return false }
            session.addInput(input)
            session.addOutput(output)
            // The types on offer are only known once the output is in the session.
            guard output.availableMetadataObjectTypes.contains(.qr) else { return false }
            output.metadataObjectTypes = [.qr]
            output.setMetadataObjectsDelegate(self, queue: .main)
            return true
        }

        func metadataOutput(_ output: AVCaptureMetadataOutput, didOutput objects: [AVMetadataObject],
                            from connection: AVCaptureConnection) {
            guard !accepted else { return }
            for case let code as AVMetadataMachineReadableCodeObject in objects {
                // The same wrong code stays in view for many frames: judge it once.
                guard let text = code.stringValue, text != lastRefused else { continue }
                if onCode(text) {
                    accepted = true
                    stop()
                    return
                }
                lastRefused = text
            }
        }
    }
}
