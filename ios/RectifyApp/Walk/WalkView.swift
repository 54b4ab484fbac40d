import PhotosUI
import RectifyKit
import SwiftUI

/// The inspector's screen on a walk: photograph a problem, let GPS place it in a village, choose its type
/// and save it on the phone. Nothing here needs a network.
struct WalkView: View {
    let services: AppServices
    let profile: Profile

    @StateObject private var model: WalkViewModel
    @StateObject private var location = LocationModel()
    @State private var path = NavigationPath()
    @State private var useLastKnown = false
    @State private var camera: CameraPermission? = CameraPermission.current
    @State private var showCamera = false
    @State private var choosingCategory = false
    @State private var choosingVillage = false
    @State private var pickerItems: [PhotosPickerItem] = []
    @Environment(\.scenePhase) private var scenePhase

    init(services: AppServices, profile: Profile) {
        self.services = services
        self.profile = profile
        _model = StateObject(wrappedValue: WalkViewModel(
            services: services, profile: profile, folder: AppModel.shared.paths.walkCaptures))
    }

    private var position: Position? { location.position(allowLastKnown: useLastKnown) }

    var body: some View {
        NavigationStack(path: $path) {
            ScrollView {
                VStack(alignment: .leading, spacing: 20) {
                    notices
                    photosSection
                    section("walk.position") {
                        GPSStatusView(location: location, useLastKnown: $useLastKnown)
                    }
                    section("walk.village") { villageSection }
                    section("walk.category") { categorySection }
                    section("walk.note") {
                        TextField("walk.note.placeholder", text: $model.note, axis: .vertical)
                            .lineLimit(2...5)
                            .padding(.vertical, 12)
                            .fieldBox()
                    }
                    saveSection
                }
                .padding()
            }
            .navigationTitle("walk.title")
            .navigationDestination(for: IssueRoute.self) { route in
                IssueDetailView(services: services, profile: profile, issueId: route.id)
            }
        }
        .task { await model.load() }
        .onAppear { location.start() }
        // The camera covers this screen; GPS keeps running under it so the photo gets a fresh fix.
        .onDisappear { if !showCamera { location.stop() } }
        .onChange(of: position) { newPosition in
            Task { await model.positionChanged(newPosition) }
        }
        .onChange(of: model.saved) { saved in
            // Each record asks again before using an old position.
            if saved != nil { useLastKnown = false }
        }
        .onChange(of: scenePhase) { phase in
            // Back from Settings: the camera may be allowed now.
            if phase == .active, let current = CameraPermission.current { camera = current }
        }
        .onChange(of: pickerItems) { items in
            guard !items.isEmpty else { return }
            Task {
                await model.addPickedPhotos(items)
                pickerItems = []
            }
        }
        .fullScreenCover(isPresented: $showCamera) {
            CameraCaptureView(onCapture: { data in
                showCamera = false
                // Only a fix from the last minute goes into the photo: an older one would misplace it.
                let fix = location.fresh
                Task { await model.addCameraPhoto(data, location: fix) }
            }, onCancel: { showCamera = false })
        }
        .sheet(isPresented: $choosingCategory) {
            CategoryPickerView(catalogue: services.catalogue, selected: model.category?.code) { model.category = $0 }
        }
        .sheet(isPresented: $choosingVillage) {
            VillagePickerView(villages: model.villages,
                              selected: model.chosenVillage?.code ?? model.located?.villageCode) { model.choose($0) }
        }
        .confirmationDialog("walk.duplicates.title", isPresented: $model.showDuplicates, titleVisibility: .visible) {
            Button("walk.duplicates.recordAnyway") { Task { await model.recordAnyway() } }
            ForEach(model.duplicates.prefix(3), id: \.issue.id) { nearby in
                Button("walk.duplicates.open \(services.catalogue.title(nearby.issue.category)) \(Format.metres(nearby.distanceM))") {
                    path.append(IssueRoute(id: nearby.issue.id))
                }
            }
            Button("common.cancel", role: .cancel) {}
        } message: {
            Text(verbatim: model.duplicatesMessage)
        }
        .problemAlert($model.problem)
    }

    // MARK: Sections

    private func section<Content: View>(_ title: LocalizedStringKey, @ViewBuilder content: () -> Content) -> some View {
        VStack(alignment: .leading, spacing: 8) {
            Text(title).font(.headline)
            content()
        }
    }

    @ViewBuilder
    private var notices: some View {
        if let saved = model.saved {
            Banner(systemImage: "checkmark.circle.fill", tint: .green) {
                Text("walk.saved.title").font(.headline)
                Text(verbatim: saved.village.isEmpty ? saved.category : "\(saved.category) · \(saved.village)")
                Text("walk.saved.offline").font(.footnote)
                Button("common.dismiss") { model.saved = nil }
                    .frame(minHeight: 44)
            }
        }
        if model.restoredCaptures {
            Banner(systemImage: "tray.full", tint: .blue) {
                Text("walk.restored")
            }
        }
    }

    private var photosSection: some View {
        VStack(alignment: .leading, spacing: 10) {
            Text("walk.photos \(model.captures.count) \(WalkViewModel.maxPhotos)").font(.headline)
            if !model.captures.isEmpty {
                ScrollView(.horizontal, showsIndicators: false) {
                    HStack(spacing: 10) {
                        ForEach(model.captures) { capture in thumbnail(capture) }
                    }
                }
            }
            if model.addingPhoto {
                HStack(spacing: 10) {
                    ProgressView()
                    Text("walk.photo.adding")
                }
            }
            if camera == .denied || camera == .restricted || camera == .unavailable {
                cameraUnavailable
            } else {
                Button(action: openCamera) {
                    Label("walk.takePhoto", systemImage: "camera.fill")
                }
                .buttonStyle(.big)
                .disabled(!model.canAddPhoto)
            }
            PhotosPicker(
                selection: $pickerItems,
                maxSelectionCount: max(1, model.photosLeft),
                matching: .images,
                preferredItemEncoding: .current
            ) {
                Label("walk.pickPhoto", systemImage: "photo.on.rectangle")
            }
            .buttonStyle(.bigSecondary)
            .disabled(!model.canAddPhoto)
        }
    }

    private func thumbnail(_ capture: WalkViewModel.Capture) -> some View {
        ZStack(alignment: .topTrailing) {
            Group {
                if let image = capture.thumbnail {
                    Image(uiImage: image).resizable().scaledToFill()
                } else {
                    Color(.secondarySystemBackground)
                }
            }
            .frame(width: 120, height: 160)
            .clipShape(RoundedRectangle(cornerRadius: 10))
            Button {
                model.remove(capture)
            } label: {
                Image(systemName: "xmark.circle.fill")
                    .font(.title)
                    .symbolRenderingMode(.palette)
                    .foregroundStyle(Color.white, Color.black.opacity(0.6))
                    .frame(width: 60, height: 60, alignment: .topTrailing)
            }
            .accessibilityLabel(Text("walk.photo.remove"))
        }
    }

    private var cameraUnavailable: some View {
        Banner(systemImage: "camera.fill", tint: .orange) {
            if camera == .unavailable {
                Text("camera.unavailable.title").font(.headline)
            } else {
                Text("camera.denied.title").font(.headline)
                Text("camera.denied.message")
            }
            Text("camera.denied.fallback").font(.footnote)
            if camera == .denied { OpenSettingsButton() }
        }
    }

    @ViewBuilder
    private var villageSection: some View {
        VStack(alignment: .leading, spacing: 10) {
            if let chosen = model.chosenVillage {
                Text(verbatim: chosen.name).font(.title3.weight(.semibold))
                Text("walk.village.chosen").font(.footnote).foregroundStyle(.secondary)
                if model.reasonRequired, let located = model.located {
                    Text("walk.village.reason.why \(located.villageName)").font(.footnote)
                    TextField("walk.village.reason", text: $model.villageReason, axis: .vertical)
                        .lineLimit(1...3)
                        .padding(.vertical, 12)
                        .fieldBox()
                }
                Button("walk.village.useLocated") {
                    model.chosenVillage = nil
                    model.villageReason = ""
                }
                .frame(minHeight: 44)
            } else if let located = model.located {
                if located.inside {
                    Label {
                        Text("walk.village.inside \(located.villageName)")
                    } icon: {
                        Image(systemName: "mappin.circle.fill").foregroundStyle(.green)
                    }
                    .font(.title3)
                } else {
                    Label {
                        Text("walk.village.outside \(located.villageName) \(Format.metres(located.distanceM))")
                    } icon: {
                        Image(systemName: "mappin.slash").foregroundStyle(.orange)
                    }
                    .font(.title3)
                    if model.locatedTooFar(located) {
                        Text("walk.village.tooFar").font(.footnote).foregroundStyle(.red)
                    }
                }
            } else if !model.hasPosition {
                Text("walk.village.needsPosition").foregroundStyle(.secondary)
            } else if let only = model.onlyVillageName {
                Text("walk.village.only \(only)").font(.title3)
            } else if model.villages.isEmpty {
                Text("walk.village.noneOnPhone").foregroundStyle(.secondary)
            } else {
                Text("walk.village.noBoundary").foregroundStyle(.secondary)
            }
            Button("walk.village.chooseOther") { choosingVillage = true }
                .buttonStyle(.bigSecondary)
                .disabled(model.villages.isEmpty)
        }
    }

    private var categorySection: some View {
        Button {
            choosingCategory = true
        } label: {
            if let category = model.category {
                VStack(spacing: 2) {
                    Text(verbatim: category.zh)
                    Text(verbatim: category.taskZh).font(.footnote)
                }
            } else {
                Label("walk.category.choose", systemImage: "list.bullet")
            }
        }
        .buttonStyle(.bigSecondary)
    }

    private var saveSection: some View {
        VStack(alignment: .leading, spacing: 10) {
            if let missing = model.missing(position: position) {
                Label(missing, systemImage: "info.circle")
                    .foregroundStyle(.secondary)
            } else if position?.isLastKnown == true {
                Label("walk.save.lastKnown", systemImage: "clock.arrow.circlepath")
                    .foregroundStyle(.orange)
            }
            Button {
                Task { await model.save(at: position) }
            } label: {
                if model.saving {
                    HStack(spacing: 10) {
                        ProgressView().tint(.white)
                        Text("walk.saving")
                    }
                } else {
                    Label("walk.save", systemImage: "square.and.arrow.down.fill")
                }
            }
            .buttonStyle(.bigTinted(.green))
            .disabled(model.missing(position: position) != nil || model.saving || model.addingPhoto)
            if !model.captures.isEmpty {
                Button("walk.discard", role: .destructive) { model.discard() }
                    .frame(maxWidth: .infinity, minHeight: 60)
            }
            Text("walk.offlineNote")
                .font(.footnote)
                .foregroundStyle(.secondary)
        }
    }

    // MARK: Camera

    /// Checks for room first (a full phone is told before the camera opens), then the permission.
    private func openCamera() {
        guard model.ensureRoom() else { return }
        Task {
            let permission = await CameraPermission.resolve()
            camera = permission
            if permission == .allowed { showCamera = true }
        }
    }
}
