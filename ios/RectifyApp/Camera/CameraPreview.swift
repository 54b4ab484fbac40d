import AVFoundation
import SwiftUI
import UIKit

/// A UIView whose layer is the camera's live picture.
final class CameraPreviewUIView: UIView {
    override class var layerClass: AnyClass { AVCaptureVideoPreviewLayer.self }

    var previewLayer: AVCaptureVideoPreviewLayer {
        // layerClass above makes this cast always succeed.
        layer as! AVCaptureVideoPreviewLayer
    }

    override func layoutSubviews() {
        super.layoutSubviews()
        previewLayer.connection?.setPortrait()
    }
}

/// The live picture of an AVCaptureSession. `gravity` is `.resizeAspect` where the picture must show exactly
/// what the photo will hold (matching a before-photo), `.resizeAspectFill` for the QR scanner.
struct CameraPreview: UIViewRepresentable {
    let session: AVCaptureSession
    var gravity: AVLayerVideoGravity = .resizeAspect

    func makeUIView(context: Context) -> CameraPreviewUIView {
        let view = CameraPreviewUIView()
        view.backgroundColor = .black
        view.previewLayer.session = session
        view.previewLayer.videoGravity = gravity
        return view
    }

    func updateUIView(_ view: CameraPreviewUIView, context: Context) {
        view.previewLayer.videoGravity = gravity
    }
}
