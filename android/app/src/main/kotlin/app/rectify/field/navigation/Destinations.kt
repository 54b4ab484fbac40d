package app.rectify.field.navigation

import androidx.annotation.StringRes
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.automirrored.filled.List
import androidx.compose.material.icons.filled.PhotoCamera
import androidx.compose.material.icons.filled.Sync
import androidx.compose.material.icons.filled.TaskAlt
import androidx.compose.ui.graphics.vector.ImageVector
import app.rectify.core.IssueId
import app.rectify.core.Role
import app.rectify.field.R

/** The routes of the app's one navigation graph. */
object Routes {
    const val ENROLL = "enroll"
    const val ISSUE_ID = "issueId"
    const val ISSUE = "issue/{$ISSUE_ID}"
    const val STRIKE_OFF = "issue/{$ISSUE_ID}/strike-off"

    /** Set on the issue's entry when the strike-off screen returns having recorded one. */
    const val RESULT_STRUCK_OFF = "struckOff"

    fun issue(id: IssueId) = "issue/$id"

    fun strikeOff(id: IssueId) = "issue/$id/strike-off"
}

/** The bottom-bar destinations. */
enum class Tab(val route: String, @StringRes val label: Int, val icon: ImageVector) {
    WALK("walk", R.string.tab_walk, Icons.Filled.PhotoCamera),
    ACCEPTANCE("acceptance", R.string.tab_acceptance, Icons.Filled.TaskAlt),
    LISTS("lists", R.string.tab_lists, Icons.AutoMirrored.Filled.List),
    SYNC("sync", R.string.tab_sync, Icons.Filled.Sync),
    ;

    companion object {
        /** Each role's own work first: the walk for inspectors, acceptance for acceptors. */
        fun forRole(role: Role): List<Tab> = when (role) {
            Role.INSPECTOR -> listOf(WALK, LISTS, SYNC)
            Role.SECRETARY -> listOf(LISTS, SYNC)
            Role.ACCEPTOR, Role.ADMIN -> listOf(ACCEPTANCE, LISTS, SYNC)
        }
    }
}
