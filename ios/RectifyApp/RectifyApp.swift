import RectifyKit
import SwiftUI
import UIKit

@main
struct RectifyApp: App {
    @UIApplicationDelegateAdaptor(AppDelegate.self) private var appDelegate
    @StateObject private var model = AppModel.shared
    @Environment(\.scenePhase) private var scenePhase

    var body: some Scene {
        WindowGroup {
            RootView(app: model)
                .onOpenURL { model.open($0) }
        }
        .onChange(of: scenePhase) { phase in
            if phase == .active { model.sceneBecameActive() }
        }
    }
}

/// Launch-time duties SwiftUI has no place for: the background sync task must be registered before launch
/// ends, and the background upload session hands its finished events back through the delegate.
@MainActor
final class AppDelegate: NSObject, UIApplicationDelegate {
    func application(
        _ application: UIApplication,
        didFinishLaunchingWithOptions launchOptions: [UIApplication.LaunchOptionsKey: Any]? = nil
    ) -> Bool {
        AppModel.shared.scheduler.register {
            await AppModel.shared.runBackgroundSync()
        }
        return true
    }

    func application(
        _ application: UIApplication,
        handleEventsForBackgroundURLSession identifier: String,
        completionHandler: @escaping () -> Void
    ) {
        guard identifier == AppModel.photoSessionIdentifier else {
            completionHandler()
            return
        }
        // Creating the model recreates the session with this identifier, which lets the system deliver
        // the finished uploads' events; the session calls this once they are all in.
        AppModel.shared.photoUploads.backgroundEventsDone = completionHandler
    }
}
