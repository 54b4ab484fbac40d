import SwiftUI
import UIKit

/// The camera, full screen: a live picture, a large shutter and a cancel button. With `overlay`, an earlier
/// photo lies over the picture, translucent (the opacity slider starts at 0.4), so a strike-off photo can
/// be taken from the same spot and angle as the before-photo.
struct CameraCaptureView: View {
    let overlay: UIImage?
    let onCapture: (Data) -> Void
    let onCancel: () -> Void

    @StateObject private var camera = CameraController()
    @State private var overlayOpacity = 0.4
    @State private var problem: Problem?

    init(overlay: UIImage? = nil, onCapture: @escaping (Data) -> Void, onCancel: @escaping () -> Void) {
        self.overlay = overlay
        self.onCapture = onCapture
        self.onCancel = onCancel
    }

    var body: some View {
        ZStack {
            Color.black.ignoresSafeArea()
            VStack(spacing: 12) {
                viewfinder
                if overlay != nil { overlayControl }
                Spacer(minLength: 0)
                controls
            }
            .padding(.vertical)
        }
        .onAppear { camera.start() }
        .onDisappear { camera.stop() }
        .problemAlert($problem)
    }

    private var viewfinder: some View {
        ZStack {
            CameraPreview(session: camera.session)
            if let overlay {
                Image(uiImage: overlay)
                    .resizable()
                    .scaledToFit()
                    .opacity(overlayOpacity)
                    .allowsHitTesting(false)
                    .accessibilityLabel(Text("camera.overlay.accessibility"))
            }
            switch camera.state {
            case .starting:
                ProgressView().tint(.white).controlSize(.large)
            case .failed:
                Text("camera.failed")
                    .font(.headline)
                    .foregroundStyle(.white)
                    .multilineTextAlignment(.center)
                    .padding()
            case .running:
                EmptyView()
            }
        }
        .aspectRatio(3.0 / 4.0, contentMode: .fit)
        .clipped()
    }

    private var opacityPercent: Int { Int((overlayOpacity * 100).rounded()) }

    private var overlayControl: some View {
        VStack(alignment: .leading, spacing: 4) {
            Text("camera.overlay.label \(opacityPercent)")
                .font(.subheadline)
                .foregroundStyle(.white)
            Slider(value: $overlayOpacity, in: 0...1)
                .tint(.yellow)
                .frame(minHeight: 60)
        }
        .padding(.horizontal)
    }

    private var controls: some View {
        HStack(alignment: .center) {
            Button(action: onCancel) {
                Text("common.cancel")
                    .font(.title3.weight(.semibold))
                    .frame(minWidth: 96, minHeight: 60)
            }
            .foregroundStyle(.white)
            Spacer()
            Button(action: shoot) {
                ZStack {
                    Circle().fill(.white).frame(width: 84, height: 84)
                    Circle().stroke(Color.black.opacity(0.6), lineWidth: 3).frame(width: 72, height: 72)
                    if camera.capturing { ProgressView().tint(.black) }
                }
            }
            .disabled(camera.state != .running || camera.capturing)
            .accessibilityLabel(Text("camera.shutter"))
            Spacer()
            Color.clear.frame(width: 96, height: 60)
        }
        .padding(.horizontal)
    }

    private func shoot() {
        Task {
            do {
                let data = try await camera.capture()
                onCapture(data)
            } catch {
                problem = Problem(error)
            }
        }
    }
}
