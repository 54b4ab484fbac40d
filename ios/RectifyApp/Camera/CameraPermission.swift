import AVFoundation

/// Whether the app may use the camera, asking the first time.
enum CameraPermission: Equatable {
    case allowed
    case denied
    /// Parental controls or a device policy forbid it; Settings cannot change that.
    case restricted
    /// There is no usable camera (the simulator).
    case unavailable

    static var current: CameraPermission? {
        switch AVCaptureDevice.authorizationStatus(for: .video) {
        case .authorized: return hasCamera ? .allowed : .unavailable
        case .denied: return .denied
        case .restricted: return .restricted
        case .notDetermined: return nil
        @unknown default: return .denied
        }
    }

    /// The permission, after asking when nobody has been asked yet.
    static func resolve() async -> CameraPermission {
        if let known = current { return known }
        let granted = await AVCaptureDevice.requestAccess(for: .video)
        guard granted else { return .denied }
        return hasCamera ? .allowed : .unavailable
    }

    private static var hasCamera: Bool {
        AVCaptureDevice.default(.builtInWideAngleCamera, for: .video, position: .back) != nil
    }
}
