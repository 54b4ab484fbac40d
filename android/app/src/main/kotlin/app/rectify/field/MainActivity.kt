package app.rectify.field

import android.app.Application
import android.content.Intent
import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.activity.enableEdgeToEdge
import androidx.activity.viewModels
import androidx.compose.runtime.getValue
import androidx.lifecycle.AndroidViewModel
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import androidx.lifecycle.viewModelScope
import app.rectify.core.RectifyException
import app.rectify.field.navigation.RectifyRoot
import app.rectify.field.navigation.StartupFailure
import app.rectify.field.ui.LoadingBox
import app.rectify.field.ui.theme.RectifyTheme
import app.rectify.kit.EnrollmentLink
import app.rectify.kit.android.RectifyRuntime
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext

/** Where opening the ledger stands. */
sealed interface Startup {
    data object Opening : Startup

    data object Ready : Startup

    data class Failed(val failure: RectifyException) : Startup
}

/**
 * Opens the ledger off the main thread (SQLite, perhaps a migration), once per activity and not again on
 * rotation, and keeps an enrollment link until the enrollment form has taken it.
 */
class StartupViewModel(application: Application) : AndroidViewModel(application) {
    private val _startup = MutableStateFlow<Startup>(Startup.Opening)
    val startup: StateFlow<Startup> = _startup.asStateFlow()

    private val _enrollmentLink = MutableStateFlow<EnrollmentLink?>(null)

    /** An enrollment link that arrived and has not been handed to the enrollment form yet. */
    val enrollmentLink: StateFlow<EnrollmentLink?> = _enrollmentLink.asStateFlow()

    init {
        open()
    }

    /**
     * Opening can fail (no room to create the ledger, a database a newer app wrote); the activity says so
     * rather than crash, because the person can often fix it (free space) and try again.
     */
    fun open() {
        if (_startup.value == Startup.Ready) return
        _startup.value = Startup.Opening
        viewModelScope.launch {
            _startup.value = try {
                withContext(Dispatchers.IO) { RectifyRuntime.get(getApplication<Application>()) }
                Startup.Ready
            } catch (failure: RectifyException) {
                Startup.Failed(failure)
            }
        }
    }

    fun offer(link: EnrollmentLink) {
        _enrollmentLink.value = link
    }

    fun enrollmentLinkUsed() {
        _enrollmentLink.value = null
    }
}

/**
 * The one activity: every screen is a Compose destination in [RectifyRoot]. It also receives the office's
 * enrollment links (`rectify://enroll?server=…&code=…`), at launch or, being singleTop, while it runs.
 */
class MainActivity : ComponentActivity() {
    private val startupViewModel: StartupViewModel by viewModels()

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        enableEdgeToEdge()
        // After a recreation the link was already taken (or is still held by the ViewModel).
        if (savedInstanceState == null) intent.enrollmentLink()?.let(startupViewModel::offer)
        setContent {
            val startup by startupViewModel.startup.collectAsStateWithLifecycle()
            val enrollmentLink by startupViewModel.enrollmentLink.collectAsStateWithLifecycle()
            RectifyTheme {
                when (val current = startup) {
                    Startup.Opening -> LoadingBox()
                    Startup.Ready -> RectifyRoot(
                        enrollmentLink = enrollmentLink,
                        onEnrollmentLinkUsed = startupViewModel::enrollmentLinkUsed,
                    )
                    is Startup.Failed -> StartupFailure(current.failure, onRetry = startupViewModel::open)
                }
            }
        }
    }

    override fun onNewIntent(intent: Intent) {
        super.onNewIntent(intent)
        setIntent(intent)
        intent.enrollmentLink()?.let(startupViewModel::offer)
    }
}

/** The enrollment link this intent opens the app with, or `null` (a launch from the home screen). */
private fun Intent.enrollmentLink(): EnrollmentLink? {
    if (action != Intent.ACTION_VIEW) return null
    // Reopened from the recent apps: the link was handled when it was first tapped.
    if ((flags and Intent.FLAG_ACTIVITY_LAUNCHED_FROM_HISTORY) != 0) return null
    return dataString?.let { EnrollmentLink.parse(it) }
}
