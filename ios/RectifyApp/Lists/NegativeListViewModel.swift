import Combine
import Foundation
import RectifyKit

/// A village's negative list (负面清单), kept current: the ledger's stream yields it again after every
/// change on this phone and every sync.
@MainActor
final class NegativeListViewModel: ObservableObject {
    @Published private(set) var villages: [VillageInfo] = []
    @Published private(set) var villagesLoaded = false
    @Published private(set) var list: NegativeList?
    @Published private(set) var problem: Problem?

    let services: AppServices
    let profile: Profile

    init(services: AppServices, profile: Profile) {
        self.services = services
        self.profile = profile
    }

    /// A secretary sees the villages they answer for; everyone else, every village on the phone.
    func loadVillages() async {
        let all = (try? await services.ledger.villages()) ?? []
        if profile.role == .secretary {
            let byCode = Dictionary(all.map { ($0.code, $0) }, uniquingKeysWith: { first, _ in first })
            // A village the office has not described to this phone yet still gets its list, by code.
            villages = profile.villageCodes.map {
                byCode[$0] ?? VillageInfo(code: $0, name: $0, town: nil, zone: nil, weakBase: false)
            }
        } else {
            villages = all
        }
        villagesLoaded = true
    }

    /// Follows the list of `code` until the task is cancelled (another village chosen, the screen gone).
    func follow(_ code: String) async {
        list = nil
        problem = nil
        do {
            for try await current in services.ledger.negativeList(code) {
                list = current
                problem = nil
            }
        } catch {
            problem = Problem(error)
        }
    }
}
