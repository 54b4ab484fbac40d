import RectifyKit
import SwiftUI

/// The first screen on a new phone, and the way back in after the office refused it: the office's address
/// and a one-time code, typed, scanned from the office's QR code, or filled from a `rectify://enroll` link.
struct EnrollmentView: View {
    @ObservedObject private var app: AppModel
    @StateObject private var model: EnrollmentViewModel
    @State private var scanning = false
    @Environment(\.dismiss) private var dismiss
    /// True when shown as a sheet over the app (enrolling again), false as the first screen.
    private let isSheet: Bool

    init(services: AppServices, app: AppModel, link: EnrollmentInvitation?, isSheet: Bool = false) {
        self.app = app
        self.isSheet = isSheet
        _model = StateObject(wrappedValue: EnrollmentViewModel(services: services, app: app, link: link))
    }

    var body: some View {
        NavigationStack {
            ScrollView {
                VStack(alignment: .leading, spacing: 20) {
                    Text("enroll.intro")
                        .font(.body)
                    Button {
                        scanning = true
                    } label: {
                        Label("enroll.scan", systemImage: "qrcode.viewfinder")
                    }
                    .buttonStyle(.big)

                    VStack(alignment: .leading, spacing: 8) {
                        Text("enroll.server").font(.headline)
                        TextField("enroll.server.placeholder", text: $model.server)
                            .keyboardType(.URL)
                            .textContentType(.URL)
                            .textInputAutocapitalization(.never)
                            .autocorrectionDisabled()
                            .fieldBox()
                        if !model.server.isEmpty && !model.serverLooksValid {
                            Text("enroll.server.invalid").font(.footnote).foregroundStyle(.red)
                        }
                    }
                    VStack(alignment: .leading, spacing: 8) {
                        Text("enroll.code").font(.headline)
                        TextField("enroll.code.placeholder", text: $model.code)
                            .textInputAutocapitalization(.characters)
                            .autocorrectionDisabled()
                            .font(.title2.monospaced())
                            .fieldBox()
                    }
                    if let problem = model.problem {
                        ProblemBanner(problem: problem)
                    }
                    Button {
                        Task {
                            if await model.enroll(), isSheet { dismiss() }
                        }
                    } label: {
                        if model.enrolling {
                            HStack(spacing: 10) {
                                ProgressView().tint(.white)
                                Text("enroll.enrolling")
                            }
                        } else {
                            Text("enroll.submit")
                        }
                    }
                    .buttonStyle(.big)
                    .disabled(!model.canEnroll)
                    Text("enroll.networkNote")
                        .font(.footnote)
                        .foregroundStyle(.secondary)
                }
                .padding()
            }
            .navigationTitle("enroll.title")
            .toolbar {
                if isSheet {
                    ToolbarItem(placement: .cancellationAction) {
                        Button("common.cancel") { dismiss() }
                    }
                }
            }
            .sheet(isPresented: $scanning) {
                QRScanSheet { link in
                    model.apply(link)
                    scanning = false
                }
            }
            .onChange(of: app.enrollmentInvitation) { link in
                // A link tapped while this screen is the first one fills it in; as a sheet, the link is the sheet's.
                guard !isSheet, let link else { return }
                model.apply(link)
                app.enrollmentInvitation = nil
            }
            .onAppear {
                if !isSheet, let link = app.enrollmentInvitation {
                    model.apply(link)
                    app.enrollmentInvitation = nil
                }
            }
        }
    }
}

/// The QR scanner in a sheet, with what to do when the camera may not be used: typing the code still works.
private struct QRScanSheet: View {
    let onFound: (EnrollmentInvitation) -> Void
    @State private var permission: CameraPermission?
    @State private var refused = false
    @Environment(\.dismiss) private var dismiss

    init(onFound: @escaping (EnrollmentInvitation) -> Void) {
        self.onFound = onFound
    }

    var body: some View {
        NavigationStack {
            VStack(spacing: 16) {
                switch permission {
                case nil:
                    ProgressView()
                        .frame(maxWidth: .infinity, maxHeight: .infinity)
                case .allowed:
                    QRScannerView(onCode: { accept($0) }, onUnavailable: { permission = .unavailable })
                        .aspectRatio(1, contentMode: .fit)
                        .clipShape(RoundedRectangle(cornerRadius: 16))
                    Text(refused ? LocalizedStringKey("enroll.scan.notEnrollment") : LocalizedStringKey("enroll.scan.hint"))
                        .multilineTextAlignment(.center)
                        .foregroundStyle(refused ? Color.red : Color.primary)
                    Spacer()
                case .denied, .restricted:
                    Banner(systemImage: "camera.fill", tint: .orange) {
                        Text("camera.denied.title").font(.headline)
                        Text("enroll.scan.denied")
                        if permission == .denied { OpenSettingsButton() }
                    }
                    Spacer()
                case .unavailable:
                    Banner(systemImage: "camera.fill", tint: .orange) {
                        Text("camera.unavailable.title").font(.headline)
                        Text("enroll.scan.denied")
                    }
                    Spacer()
                }
            }
            .padding()
            .navigationTitle("enroll.scan")
            .navigationBarTitleDisplayMode(.inline)
            .toolbar {
                ToolbarItem(placement: .cancellationAction) {
                    Button("common.cancel") { dismiss() }
                }
            }
            .task { permission = await CameraPermission.resolve() }
        }
    }

    private func accept(_ text: String) -> Bool {
        guard let link = EnrollmentInvitation(scanned: text) else {
            refused = true
            return false
        }
        onFound(link)
        return true
    }
}
