package app.rectify.field.navigation

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.WindowInsets
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.consumeWindowInsets
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.layout.safeDrawingPadding
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.filled.ErrorOutline
import androidx.compose.material.icons.filled.Refresh
import androidx.compose.material3.Icon
import androidx.compose.material3.NavigationBar
import androidx.compose.material3.NavigationBarItem
import androidx.compose.material3.Scaffold
import androidx.compose.material3.Surface
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.key
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import androidx.lifecycle.viewmodel.compose.viewModel
import androidx.navigation.NavDestination.Companion.hierarchy
import androidx.navigation.NavGraph.Companion.findStartDestination
import androidx.navigation.NavHostController
import androidx.navigation.NavType
import androidx.navigation.compose.NavHost
import androidx.navigation.compose.composable
import androidx.navigation.compose.currentBackStackEntryAsState
import androidx.navigation.compose.rememberNavController
import androidx.navigation.navArgument
import app.rectify.core.RectifyException
import app.rectify.core.Role
import app.rectify.field.R
import app.rectify.field.acceptance.AcceptanceScreen
import app.rectify.field.detail.IssueDetailScreen
import app.rectify.field.enroll.EnrollmentScreen
import app.rectify.field.lists.NegativeListScreen
import app.rectify.field.strikeoff.StrikeOffScreen
import app.rectify.field.sync.SyncStatusScreen
import app.rectify.field.ui.BigButton
import app.rectify.field.ui.LoadingBox
import app.rectify.field.ui.NoticeCard
import app.rectify.field.ui.NoticeTone
import app.rectify.field.ui.text
import app.rectify.field.ui.toUiMessage
import app.rectify.field.walk.WalkScreen
import app.rectify.kit.EnrollmentLink
import app.rectify.kit.android.RectifyRuntime

/**
 * The app's frame: enrollment until the phone acts for someone, then the role's tabs. The graph is built
 * again when the role changes (a first enrollment, or enrolling as someone else), so each role starts on
 * its own first tab with a clean back stack.
 *
 * [enrollmentLink] is a tapped enrollment link not yet handed to the enrollment form; the form calls
 * [onEnrollmentLinkUsed] once it has taken it.
 */
@Composable
fun RectifyRoot(enrollmentLink: EnrollmentLink? = null, onEnrollmentLinkUsed: () -> Unit = {}) {
    val application = LocalContext.current.applicationContext
    val appViewModel: AppViewModel = viewModel { AppViewModel(RectifyRuntime.get(application).ledger) }
    val session by appViewModel.session.collectAsStateWithLifecycle()

    when (val current = session) {
        Session.Loading -> LoadingBox()
        is Session.Failed -> Surface(Modifier.fillMaxSize()) {
            NoticeCard(
                icon = Icons.Filled.ErrorOutline,
                text = current.message.text(),
                tone = NoticeTone.Error,
                modifier = Modifier.safeDrawingPadding().padding(16.dp),
            )
        }
        is Session.Ready -> {
            val role = current.profile?.role
            key(role) { RectifyNavHost(role, enrollmentLink, onEnrollmentLinkUsed) }
        }
    }
}

@Composable
private fun RectifyNavHost(role: Role?, enrollmentLink: EnrollmentLink?, onEnrollmentLinkUsed: () -> Unit) {
    val navController = rememberNavController()
    val tabs = role?.let { Tab.forRole(it) }.orEmpty()
    val start = tabs.firstOrNull()?.route ?: Routes.ENROLL
    val backStack by navController.currentBackStackEntryAsState()
    val destination = backStack?.destination
    val onTab = tabs.any { tab -> destination?.hierarchy?.any { it.route == tab.route } == true }

    // The frame only owns the bottom bar; each screen's own Scaffold handles the status bar (and the
    // navigation bar when the bottom bar is hidden), so nothing is padded twice.
    Scaffold(
        contentWindowInsets = WindowInsets(0, 0, 0, 0),
        bottomBar = {
            if (onTab) {
                NavigationBar {
                    tabs.forEach { tab ->
                        NavigationBarItem(
                            selected = destination?.hierarchy?.any { it.route == tab.route } == true,
                            onClick = { navController.openTab(tab) },
                            icon = { Icon(tab.icon, contentDescription = null) },
                            label = { Text(stringResource(tab.label)) },
                        )
                    }
                }
            }
        },
    ) { padding ->
        NavHost(
            navController = navController,
            startDestination = start,
            modifier = Modifier
                .padding(padding)
                .consumeWindowInsets(padding),
        ) {
            composable(Routes.ENROLL) {
                val back: () -> Unit = { navController.popBackStack() }
                EnrollmentScreen(
                    // A first enrollment rebuilds the graph for the new role; a re-enrollment goes back.
                    onEnrolled = { if (navController.previousBackStackEntry != null) back() },
                    onBack = back.takeIf { role != null },
                    link = enrollmentLink,
                    // A phone not enrolled yet enrolls at once, as with a scanned code; one that already acts
                    // for someone only fills the form in, so a stray link cannot replace its identity unasked.
                    submitLink = role == null,
                    onLinkUsed = onEnrollmentLinkUsed,
                )
            }
            composable(Tab.WALK.route) {
                WalkScreen(onOpenIssue = { navController.navigate(Routes.issue(it)) })
            }
            composable(Tab.ACCEPTANCE.route) {
                AcceptanceScreen(onOpenIssue = { navController.navigate(Routes.issue(it)) })
            }
            composable(Tab.LISTS.route) {
                NegativeListScreen(onOpenIssue = { navController.navigate(Routes.issue(it)) })
            }
            composable(Tab.SYNC.route) {
                SyncStatusScreen(onEnroll = { navController.navigate(Routes.ENROLL) })
            }
            composable(Routes.ISSUE, arguments = listOf(navArgument(Routes.ISSUE_ID) { type = NavType.StringType })) { entry ->
                val issueId = entry.arguments?.getString(Routes.ISSUE_ID).orEmpty()
                val struckOff by entry.savedStateHandle
                    .getStateFlow(Routes.RESULT_STRUCK_OFF, false)
                    .collectAsStateWithLifecycle()
                IssueDetailScreen(
                    issueId = issueId,
                    onBack = { navController.popBackStack() },
                    onStrikeOff = { navController.navigate(Routes.strikeOff(it)) },
                    struckOff = struckOff,
                    onStruckOffShown = { entry.savedStateHandle[Routes.RESULT_STRUCK_OFF] = false },
                )
            }
            composable(Routes.STRIKE_OFF, arguments = listOf(navArgument(Routes.ISSUE_ID) { type = NavType.StringType })) { entry ->
                val issueId = entry.arguments?.getString(Routes.ISSUE_ID).orEmpty()
                StrikeOffScreen(
                    issueId = issueId,
                    onBack = { navController.popBackStack() },
                    onDone = {
                        navController.previousBackStackEntry?.savedStateHandle?.set(Routes.RESULT_STRUCK_OFF, true)
                        navController.popBackStack()
                    },
                )
            }
        }
    }

    // A link tapped while the phone already acts for someone opens the enrollment form over the current
    // screen (a phone not enrolled yet is on that form already).
    LaunchedEffect(enrollmentLink, role) {
        if (enrollmentLink != null && role != null) {
            navController.navigate(Routes.ENROLL) { launchSingleTop = true }
        }
    }
}

/** Switches tabs the usual way: one copy of each tab on the stack, each keeping its own state. */
private fun NavHostController.openTab(tab: Tab) {
    navigate(tab.route) {
        popUpTo(graph.findStartDestination().id) { saveState = true }
        launchSingleTop = true
        restoreState = true
    }
}

/**
 * Shown instead of the app when the ledger cannot be opened at all, most often because the phone is
 * full. Nothing was lost: the ledger's writes are atomic, so freeing space and trying again is enough.
 */
@Composable
fun StartupFailure(failure: RectifyException, onRetry: () -> Unit) {
    Surface(Modifier.fillMaxSize()) {
        Column(
            modifier = Modifier
                .safeDrawingPadding()
                .padding(16.dp),
            verticalArrangement = Arrangement.spacedBy(16.dp),
        ) {
            NoticeCard(
                icon = Icons.Filled.ErrorOutline,
                title = stringResource(R.string.startup_failed_title),
                text = failure.toUiMessage().text(),
                tone = NoticeTone.Error,
            )
            BigButton(
                text = stringResource(R.string.action_try_again),
                onClick = onRetry,
                icon = Icons.Filled.Refresh,
                modifier = Modifier.fillMaxWidth(),
            )
        }
    }
}
