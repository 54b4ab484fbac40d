import Combine
import Foundation
import RectifyKit

/// One issue with everything the phone knows about it, and the actions the person's role allows on it.
@MainActor
final class IssueDetailViewModel: ObservableObject {
    @Published private(set) var detail: IssueDetail?
    @Published private(set) var loadProblem: Problem?
    @Published private(set) var working = false
    @Published var problem: Problem?
    /// Shown after an action: saved on the phone, sent when a network returns.
    @Published var savedNotice = false

    let services: AppServices
    let profile: Profile
    let issueId: IssueId

    init(services: AppServices, profile: Profile, issueId: IssueId) {
        self.services = services
        self.profile = profile
        self.issueId = issueId
    }

    func load() async {
        do {
            detail = try await services.ledger.issue(issueId)
            loadProblem = nil
        } catch {
            loadProblem = Problem(error)
        }
    }

    /// Loads the issue, then again whenever its village's issues change on the phone (an action here, or a
    /// sync bringing another person's), until the screen goes.
    func follow() async {
        await load()
        guard let code = detail?.villageCode else { return }
        do {
            for try await _ in services.ledger.issues(ListQuery(villageCode: code)) {
                await load()
            }
        } catch {
            // The list could not be read; what `load` shows stays, and pull-to-refresh tries again.
        }
    }

    var beforePhotos: [IssuePhoto] { detail?.photos.filter { $0.role == .before } ?? [] }
    var afterPhotos: [IssuePhoto] { detail?.photos.filter { $0.role == .after } ?? [] }

    /// A secretary strikes off an open issue of their village (the core checks the village).
    var canStrikeOff: Bool {
        guard let status = detail?.issue.status else { return false }
        return profile.role == .secretary && status.canStrikeOff
    }

    /// An acceptor (or admin) decides a strike-off that waits for acceptance.
    var canDecide: Bool {
        detail?.issue.status == .strikeOffRequested && profile.role.decidesAcceptance
    }

    func accept() async {
        let ledger = services.ledger
        let id = issueId
        problem = await perform { try await ledger.accept(id) }
    }

    /// Rejects with the reason the village will read. Answers what went wrong, or nil once recorded.
    func reject(reason: String) async -> Problem? {
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reason.isEmpty else { return nil }
        let ledger = services.ledger
        let id = issueId
        return await perform { try await ledger.reject(id, reason: reason) }
    }

    /// The strike-off screen recorded one: show it.
    func struckOff() async {
        savedNotice = true
        await load()
    }

    /// Records an action on the phone and queues it for the office. Answers the problem, nil when recorded.
    private func perform(_ action: () async throws -> Issue) async -> Problem? {
        guard !working else { return nil }
        working = true
        defer { working = false }
        do {
            _ = try await action()
            services.backgroundSync.localChange()
            savedNotice = true
            await load()
            return nil
        } catch {
            // Someone else may have acted first (the issue moved on): show it as it now stands.
            await load()
            return Problem(error)
        }
    }
}
