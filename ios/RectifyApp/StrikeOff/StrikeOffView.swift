import CoreLocation
import PhotosUI
import RectifyKit
import SwiftUI

/// Strike-off by camera: the live picture with the before-photo laid over it, translucent, to take the
/// after-photo from the same spot and angle; then both side by side, a note, and confirm.
struct StrikeOffView: View {
    let onFinish: (Bool) -> Void

    @StateObject private var model: StrikeOffViewModel
    @StateObject private var location = LocationModel()
    @State private var pickerItem: PhotosPickerItem?

    init(services: AppServices, detail: IssueDetail, onFinish: @escaping (Bool) -> Void) {
        self.onFinish = onFinish
        _model = StateObject(wrappedValue: StrikeOffViewModel(
            services: services, detail: detail, folder: AppModel.shared.paths.strikeOffCaptures))
    }

    var body: some View {
        Group {
            switch model.stage {
            case .preparing:
                ProgressView().controlSize(.large)
            case .camera:
                camera
            case .noCamera(let permission):
                framed { noCamera(permission) }
            case .blocked(let problem):
                framed { ProblemBanner(problem: problem) }
            case .review:
                framed { review }
            }
        }
        .task { await model.prepare() }
        .onAppear { location.start() }
        .onDisappear { location.stop() }
        .onChange(of: pickerItem) { item in
            guard let item else { return }
            Task {
                await model.picked(item)
                pickerItem = nil
            }
        }
        .problemAlert($model.problem)
    }

    private func close() {
        model.cancel()
        onFinish(false)
    }

    /// A screen with a title bar and a close button, around the stages that are not the camera.
    private func framed<Content: View>(@ViewBuilder _ content: () -> Content) -> some View {
        NavigationStack {
            ScrollView {
                VStack(alignment: .leading, spacing: 20) { content() }
                    .padding()
            }
            .navigationTitle("strikeOff.title")
            .navigationBarTitleDisplayMode(.inline)
            .toolbar {
                ToolbarItem(placement: .cancellationAction) {
                    Button("common.cancel", action: close)
                }
            }
        }
    }

    private var camera: some View {
        ZStack(alignment: .top) {
            CameraCaptureView(overlay: model.beforeImage, onCapture: { data in
                let fix = location.fresh
                Task { await model.captured(data, location: fix) }
            }, onCancel: close)
            gpsPill
                .padding(.top, 8)
            if model.working {
                ProgressView()
                    .controlSize(.large)
                    .tint(.white)
                    .frame(maxWidth: .infinity, maxHeight: .infinity)
                    .background(Color.black.opacity(0.4))
            }
        }
    }

    @ViewBuilder
    private var gpsPill: some View {
        Group {
            if let fresh = location.fresh {
                Label {
                    Text("gps.pill \(Self.accuracy(fresh))")
                } icon: {
                    Image(systemName: "location.fill")
                }
            } else if location.access == .denied || location.access == .restricted {
                Label("gps.pill.off", systemImage: "location.slash")
            } else {
                Label("gps.pill.waiting", systemImage: "location.magnifyingglass")
            }
        }
        .font(.footnote.weight(.semibold))
        .padding(.horizontal, 12)
        .padding(.vertical, 6)
        .background(Capsule().fill(Color.black.opacity(0.6)))
        .foregroundStyle(.white)
    }

    private static func accuracy(_ location: CLLocation) -> Int {
        Int(location.horizontalAccuracy.rounded())
    }

    @ViewBuilder
    private func noCamera(_ permission: CameraPermission) -> some View {
        Banner(systemImage: "camera.fill", tint: .orange) {
            if permission == .unavailable {
                Text("camera.unavailable.title").font(.headline)
            } else {
                Text("camera.denied.title").font(.headline)
                Text("camera.denied.message")
            }
            Text("strikeOff.fallback").font(.footnote)
            if permission == .denied { OpenSettingsButton() }
        }
        if model.working {
            ProgressView().frame(maxWidth: .infinity)
        }
        PhotosPicker(selection: $pickerItem, matching: .images, preferredItemEncoding: .current) {
            Label("strikeOff.pickPhoto", systemImage: "photo.on.rectangle")
        }
        .buttonStyle(.big)
        .disabled(model.working)
    }

    @ViewBuilder
    private var review: some View {
        HStack(alignment: .top, spacing: 10) {
            side(Text("detail.before"), model.beforeImage)
            side(Text("detail.after"), model.afterImage)
        }
        if model.afterHasGPS {
            Label("strikeOff.gps.ok", systemImage: "location.fill")
                .foregroundStyle(.green)
        } else {
            Banner(systemImage: "location.slash", tint: .orange) {
                Text("strikeOff.gps.missing")
            }
        }
        VStack(alignment: .leading, spacing: 8) {
            Text("strikeOff.note").font(.headline)
            TextField("strikeOff.note.placeholder", text: $model.note, axis: .vertical)
                .lineLimit(2...5)
                .padding(.vertical, 12)
                .fieldBox()
        }
        Button {
            Task {
                if await model.confirm() { onFinish(true) }
            }
        } label: {
            if model.working {
                HStack(spacing: 10) {
                    ProgressView().tint(.white)
                    Text("strikeOff.saving")
                }
            } else {
                Label("strikeOff.confirm", systemImage: "checkmark.circle.fill")
            }
        }
        .buttonStyle(.bigTinted(.green))
        .disabled(model.working)
        Button("strikeOff.retake", action: model.retake)
            .buttonStyle(.bigSecondary)
            .disabled(model.working)
        Text("strikeOff.offlineNote")
            .font(.footnote)
            .foregroundStyle(.secondary)
    }

    private func side(_ title: Text, _ image: UIImage?) -> some View {
        VStack(alignment: .leading, spacing: 6) {
            title.font(.headline)
            if let image {
                Image(uiImage: image)
                    .resizable()
                    .scaledToFit()
                    .clipShape(RoundedRectangle(cornerRadius: 8))
            } else {
                PhotoPendingView()
            }
        }
        .frame(maxWidth: .infinity)
    }
}
